"""Provider-side access rights (pure): which clients may call which services."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from xroad.errors import AccessDenied
from xroad.identifiers import ClientId, ServiceId


@dataclass(frozen=True, slots=True)
class AccessRight:
    """`subject` may call `service_code` of `provider` (versions are not part of access rights)."""

    subject: ClientId
    provider: ClientId
    service_code: str


def check_access(client: ClientId, service: ServiceId, rights: Iterable[AccessRight]) -> None:
    for right in rights:
        if (right.subject == client and right.provider == service.provider
                and right.service_code == service.service_code):
            return
    raise AccessDenied(f"{client} is not allowed to call {service}")
