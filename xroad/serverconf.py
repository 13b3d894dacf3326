"""A security server's local configuration: hosted clients, services, access rights (pure codec).

Kept in `serverconf.toml` in the server's data directory; X-Road keeps the same facts in its
`serverconf` database.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from enum import StrEnum

from xroad.access import AccessRight
from xroad.errors import InvalidMessage, UnknownService
from xroad.identifiers import ClientId, SecurityServerId, ServiceId


class ServiceType(StrEnum):
    REST = "REST"
    SOAP = "SOAP"


@dataclass(frozen=True, slots=True)
class ServiceDescription:
    provider: ClientId
    service_code: str
    type: ServiceType
    url: str  # REST: base URL the request path is appended to; SOAP: the endpoint
    timeout_s: float = 60.0


@dataclass(frozen=True, slots=True)
class ServerConf:
    server_id: SecurityServerId
    clients: tuple[ClientId, ...]
    services: tuple[ServiceDescription, ...]
    access_rights: tuple[AccessRight, ...]

    def service(self, service: ServiceId) -> ServiceDescription:
        for desc in self.services:
            if desc.provider == service.provider and desc.service_code == service.service_code:
                return desc
        raise UnknownService(f"service {service} is not provided on this security server")

    def hosts(self, client: ClientId) -> bool:
        return client in self.clients


def parse(text: str) -> ServerConf:
    try:
        doc = tomllib.loads(text)
        return ServerConf(
            server_id=SecurityServerId.parse(doc["server_id"]),
            clients=tuple(ClientId.parse(c["id"]) for c in doc.get("clients", [])),
            services=tuple(
                ServiceDescription(ClientId.parse(s["provider"]), s["code"], ServiceType(s["type"]),
                                   s["url"], float(s.get("timeout_s", 60.0)))
                for s in doc.get("services", [])),
            access_rights=tuple(
                AccessRight(ClientId.parse(a["subject"]), ClientId.parse(a["provider"]), code)
                for a in doc.get("access", []) for code in a["services"]),
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError, InvalidMessage) as e:
        raise InvalidMessage(f"serverconf is malformed: {e}") from e


def render(conf: ServerConf) -> str:
    """TOML text for `conf` (strings are JSON-quoted, which TOML basic strings accept)."""
    q = json.dumps
    lines = [f"server_id = {q(str(conf.server_id))}", ""]
    for client in conf.clients:
        lines += ["[[clients]]", f"id = {q(str(client))}", ""]
    for s in conf.services:
        lines += ["[[services]]", f"provider = {q(str(s.provider))}", f"code = {q(s.service_code)}",
                  f"type = {q(str(s.type))}", f"url = {q(s.url)}", f"timeout_s = {s.timeout_s}", ""]
    grouped: dict[tuple[ClientId, ClientId], list[str]] = {}
    for r in conf.access_rights:
        grouped.setdefault((r.subject, r.provider), []).append(r.service_code)
    for (subject, provider), codes in grouped.items():
        lines += ["[[access]]", f"subject = {q(str(subject))}", f"provider = {q(str(provider))}",
                  f"services = {q(codes)}", ""]
    return "\n".join(lines)
