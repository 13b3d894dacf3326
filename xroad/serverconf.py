"""A security server's local configuration: hosted clients, services, access rights (pure codec).

Kept in `serverconf.toml` in the server's data directory; X-Road keeps the same facts in its
`serverconf` database.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from xroad.access import AccessRight, Endpoint
from xroad.errors import InvalidMessage, UnknownService
from xroad.identifiers import (
    ClientId,
    SecurityServerId,
    ServiceId,
    format_subject,
    parse_subject,
)


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
    description_url: str | None = None  # where the WSDL (SOAP) or OpenAPI (REST) document is


@dataclass(frozen=True, slots=True)
class ServerConf:
    server_id: SecurityServerId
    clients: tuple[ClientId, ...]
    services: tuple[ServiceDescription, ...]
    access_rights: tuple[AccessRight, ...]
    local_groups: tuple[tuple[str, frozenset[ClientId]], ...] = ()
    # Hosted clients whose message bodies the audit log keeps (encrypted); metadata only else.
    audit_bodies: frozenset[ClientId] = frozenset()

    def local_group_members(self) -> dict[str, frozenset[ClientId]]:
        return dict(self.local_groups)

    def service(self, service: ServiceId) -> ServiceDescription:
        for desc in self.services:
            if desc.provider == service.provider and desc.service_code == service.service_code:
                return desc
        raise UnknownService(f"service {service} is not provided on this security server")

    def hosts(self, client: ClientId) -> bool:
        return client in self.clients


def _rights(entry: dict[str, Any]) -> list[AccessRight]:
    subject, provider = parse_subject(entry["subject"]), ClientId.parse(entry["provider"])
    if "services" in entry:
        return [AccessRight(subject, provider, code) for code in entry["services"]]
    endpoint = Endpoint(entry["method"].upper(), entry["path"]) if "path" in entry else None
    return [AccessRight(subject, provider, entry["service"], endpoint)]


def _flag(entry: dict[str, Any], name: str) -> bool:
    value = entry.get(name, False)
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false")
    return value


def parse(text: str) -> ServerConf:
    try:
        doc = tomllib.loads(text)
        return ServerConf(
            server_id=SecurityServerId.parse(doc["server_id"]),
            clients=tuple(ClientId.parse(c["id"]) for c in doc.get("clients", [])),
            services=tuple(
                ServiceDescription(ClientId.parse(s["provider"]), s["code"], ServiceType(s["type"]),
                                   s["url"], float(s.get("timeout_s", 60.0)),
                                   s.get("description_url"))
                for s in doc.get("services", [])),
            access_rights=tuple(r for a in doc.get("access", []) for r in _rights(a)),
            local_groups=tuple(
                (g["code"], frozenset(ClientId.parse(m) for m in g.get("members", [])))
                for g in doc.get("local_groups", [])),
            audit_bodies=frozenset(ClientId.parse(c["id"]) for c in doc.get("clients", [])
                                   if _flag(c, "audit_bodies")),
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError, InvalidMessage) as e:
        raise InvalidMessage(f"serverconf is malformed: {e}") from e


def render(conf: ServerConf) -> str:
    """TOML text for `conf` (strings are JSON-quoted, which TOML basic strings accept)."""
    def q(value: object) -> str:
        # TOML basic strings take any Unicode but control characters; JSON escapes all of them
        # except DEL.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    lines = [f"server_id = {q(str(conf.server_id))}", ""]
    for client in conf.clients:
        lines += ["[[clients]]", f"id = {q(str(client))}"]
        if client in conf.audit_bodies:
            lines.append("audit_bodies = true")
        lines.append("")
    for s in conf.services:
        lines += ["[[services]]", f"provider = {q(str(s.provider))}", f"code = {q(s.service_code)}",
                  f"type = {q(str(s.type))}", f"url = {q(s.url)}", f"timeout_s = {s.timeout_s}"]
        if s.description_url is not None:
            lines.append(f"description_url = {q(s.description_url)}")
        lines.append("")
    for code, members in conf.local_groups:
        lines += ["[[local_groups]]", f"code = {q(code)}",
                  f"members = {q(sorted(str(m) for m in members))}", ""]
    for r in conf.access_rights:
        lines += ["[[access]]", f"subject = {q(format_subject(r.subject))}",
                  f"provider = {q(str(r.provider))}", f"service = {q(r.service_code)}"]
        if r.endpoint is not None:
            lines += [f"method = {q(r.endpoint.method)}", f"path = {q(r.endpoint.path)}"]
        lines.append("")
    return "\n".join(lines)


def grant(conf: ServerConf, right: AccessRight) -> ServerConf:
    """`conf` with `right` added; only services this server provides can be granted."""
    conf.service(ServiceId(right.provider, right.service_code))
    if right in conf.access_rights:
        return conf
    return replace(conf, access_rights=(*conf.access_rights, right))


def revoke(conf: ServerConf, right: AccessRight) -> ServerConf:
    if right not in conf.access_rights:
        raise InvalidMessage("no such access right")
    return replace(conf, access_rights=tuple(r for r in conf.access_rights if r != right))


def write_atomically(path: Path, conf: ServerConf) -> None:
    """Readers (the running server) see the old file or the new one, never half of it."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render(conf), encoding="utf-8")
    tmp.replace(path)
