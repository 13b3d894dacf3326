"""Provider-side access rights (pure): which clients may call which services and endpoints.

Rights are granted to a subsystem (or member), a local group of this security server, or a
global group from global configuration, on a service code (versions are not part of access
rights) or, for REST, on one endpoint: a method and a path pattern. Path patterns are
matched segment by segment on percent-decoded segments, and a path with a `.`/`..` segment,
an encoded `/` or `\\`, or an empty segment never matches anything (X-Road fixed a
wildcard traversal bug of this kind in 7.7.1).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from urllib.parse import unquote

from xroad.errors import AccessDenied
from xroad.identifiers import ClientId, GlobalGroupId, LocalGroupId, ServiceId, Subject

ANY_METHOD = "*"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A REST endpoint: method (or `*`) and path pattern (`*` one segment, `**` any number)."""

    method: str
    path: str

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise ValueError(f"endpoint path must start with '/': {self.path!r}")

    def matches(self, method: str, segments: list[str]) -> bool:
        if self.method not in (ANY_METHOD, method.upper()):
            return False
        return _match(self.path.strip("/").split("/") if self.path != "/" else [], segments)


@dataclass(frozen=True, slots=True)
class AccessRight:
    """`subject` may call `service_code` of `provider` (optionally only `endpoint`)."""

    subject: Subject
    provider: ClientId
    service_code: str
    endpoint: Endpoint | None = None


def request_segments(raw_path: str) -> list[str] | None:
    """Decoded path segments, or None if the path could escape a pattern (traversal tricks)."""
    if raw_path in ("", "/"):
        return []
    if not raw_path.startswith("/"):
        return None
    segments = []
    for raw in raw_path[1:].split("/"):
        try:
            segment = unquote(raw, errors="strict")
        except UnicodeDecodeError:
            return None
        if segment in ("", ".", "..") or "/" in segment or "\\" in segment or "\x00" in segment:
            return None
        segments.append(segment)
    return segments


def _match(pattern: list[str], segments: list[str]) -> bool:
    if not pattern:
        return not segments
    head, *rest = pattern
    if head == "**":
        return any(_match(rest, segments[i:]) for i in range(len(segments) + 1))
    return bool(segments) and fnmatchcase(segments[0], head) and _match(rest, segments[1:])


def _is_subject(subject: Subject, client: ClientId, local_groups: Mapping[str, frozenset[ClientId]],
                global_groups: Mapping[GlobalGroupId, frozenset[ClientId]]) -> bool:
    if isinstance(subject, ClientId):
        return subject == client
    if isinstance(subject, LocalGroupId):
        return client in local_groups.get(subject.group_code, frozenset())
    return client in global_groups.get(subject, frozenset())


def check_access(client: ClientId, service: ServiceId, rights: Iterable[AccessRight], *,
                 method: str | None = None, path: str | None = None,
                 local_groups: Mapping[str, frozenset[ClientId]] | None = None,
                 global_groups: Mapping[GlobalGroupId, frozenset[ClientId]] | None = None
                 ) -> None:
    """Raise `AccessDenied` unless a right covers this client, service and (REST) endpoint."""
    segments = request_segments(path) if path is not None else None
    for right in rights:
        if right.provider != service.provider or right.service_code != service.service_code:
            continue
        if not _is_subject(right.subject, client, local_groups or {}, global_groups or {}):
            continue
        if right.endpoint is None:
            return
        if method is not None and segments is not None and right.endpoint.matches(method,
                                                                                  segments):
            return
    raise AccessDenied(f"{client} is not allowed to call {service}"
                       + (f" {method} {path}" if method and path is not None else ""))


def rights_of(client: ClientId, service: ServiceId, rights: Iterable[AccessRight], *,
              local_groups: Mapping[str, frozenset[ClientId]] | None = None,
              global_groups: Mapping[GlobalGroupId, frozenset[ClientId]] | None = None
              ) -> list[AccessRight]:
    """The rights that let `client` call `service` at all (any endpoint): for allowedMethods
    and for reading the service's description."""
    return [r for r in rights
            if r.provider == service.provider and r.service_code == service.service_code
            and _is_subject(r.subject, client, local_groups or {}, global_groups or {})]
