"""The security server's admin API: access rights of the services it provides.

X-Road style API keys (`Authorization: X-Road-ApiKey token=...`); a read-only key for
observers, a full key for service administrators. Every change is logged with who made it and
the rights before and after; the running server applies it within a second (it re-reads
`serverconf.toml`). Listens on loopback unless configured otherwise.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import structlog
from aiohttp import web

from audit.checkpointer import Checkpointer
from xroad.access import AccessRight, Endpoint
from xroad.errors import XRoadError
from xroad.identifiers import ServiceId, format_subject, parse_subject
from xroad.proxy.audit_api import AuditAccess, add_audit_routes
from xroad.proxy.metrics_api import add_metrics_routes
from xroad.proxy.monitoring import Monitor
from xroad.serverconf import grant, parse, revoke, write_atomically

log = structlog.get_logger(__name__)

_MAX_BODY = 64 * 1024


class Role(StrEnum):
    SERVICE_ADMINISTRATOR = "service-administrator"
    OBSERVER = "observer"
    AUDITOR = "auditor"  # reads the audit log; changes nothing
    DATA_ACCESS_VIEWER = "data-access-viewer"  # only the citizen view (for the portal)


# Who may call what (least privilege): configuration reads, the audit log, the citizen view.
CONFIG_READERS: Final = frozenset({Role.SERVICE_ADMINISTRATOR, Role.OBSERVER, Role.AUDITOR})
ADMINISTRATORS: Final = frozenset({Role.SERVICE_ADMINISTRATOR})
AUDIT_READERS: Final = frozenset({Role.AUDITOR})
DATA_ACCESS_READERS: Final = frozenset({Role.AUDITOR, Role.DATA_ACCESS_VIEWER})


@dataclass(frozen=True)
class ApiKey:
    key_id: str  # shown in logs instead of the key
    secret_sha256: bytes
    role: Role

    @classmethod
    def of(cls, secret: str, role: Role) -> ApiKey:
        digest = hashlib.sha256(secret.encode()).digest()
        return cls(digest[:4].hex(), digest, role)


def _json_error(status: int, kind: str, message: str) -> web.Response:
    return web.json_response({"type": kind, "message": message}, status=status)


def _caller(request: web.Request, keys: tuple[ApiKey, ...]) -> ApiKey | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme != "X-Road-ApiKey" or not token.startswith("token="):
        return None
    digest = hashlib.sha256(token.removeprefix("token=").encode()).digest()
    return next((k for k in keys if hmac.compare_digest(k.secret_sha256, digest)), None)


def _right_json(right: AccessRight) -> dict[str, Any]:
    doc: dict[str, Any] = {"subject": format_subject(right.subject),
                           "service": f"{right.provider}/{right.service_code}"}
    if right.endpoint is not None:
        doc |= {"method": right.endpoint.method, "path": right.endpoint.path}
    return doc


def _right_from(doc: object) -> AccessRight:
    if not isinstance(doc, dict):
        raise ValueError("expected a JSON object")
    service = ServiceId.parse(str(doc["service"]))
    method, path = doc.get("method"), doc.get("path")
    if (method is None) != (path is None):
        raise ValueError("give both method and path for an endpoint, or neither")
    endpoint = Endpoint(str(method).upper(), str(path)) if method is not None else None
    return AccessRight(parse_subject(str(doc["subject"])), service.provider,
                       service.service_code, endpoint)


Handler = Callable[[web.Request, ApiKey], Awaitable[web.Response]]


def create_admin_app(serverconf_path: Path, keys: tuple[ApiKey, ...],
                     checkpointer: Checkpointer | None = None,
                     stamp: Callable[[bytes], bytes] | None = None, *,
                     monitor: Monitor | None = None,
                     audit: AuditAccess | None = None) -> web.Application:
    def allowed(roles: frozenset[Role]) -> Callable[[Handler], Callable[
            [web.Request], Awaitable[web.Response]]]:
        def wrap(handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
            async def run(request: web.Request) -> web.Response:
                caller = _caller(request, keys)
                if caller is None:
                    log.warning("admin.unauthenticated", path=request.path)
                    return _json_error(401, "Unauthorized", "missing or unknown API key")
                if caller.role not in roles:
                    log.warning("admin.forbidden", key_id=caller.key_id, path=request.path)
                    return _json_error(403, "Forbidden", f"role {caller.role} may not "
                                       f"{request.method} {request.path}")
                return await handler(request, caller)
            return run
        return wrap

    def guarded(handler: Handler, *, write: bool) -> Callable[[web.Request],
                                                              Awaitable[web.Response]]:
        return allowed(ADMINISTRATORS if write else CONFIG_READERS)(handler)

    async def list_rights(_: web.Request, __: ApiKey) -> web.Response:
        conf = parse(await asyncio.to_thread(serverconf_path.read_text, encoding="utf-8"))
        return web.json_response([_right_json(r) for r in conf.access_rights])

    async def change(request: web.Request, caller: ApiKey, *, add: bool) -> web.Response:
        try:
            raw = await request.content.read(_MAX_BODY + 1)
            if len(raw) > _MAX_BODY:
                return _json_error(413, "TooLarge", f"request body over {_MAX_BODY} bytes")
            right = _right_from(json.loads(raw))
            before = parse(await asyncio.to_thread(serverconf_path.read_text,
                                                   encoding="utf-8"))
            after = grant(before, right) if add else revoke(before, right)
        except (XRoadError, ValueError, KeyError) as e:
            return _json_error(400, "BadRequest", str(e) or type(e).__name__)
        await asyncio.to_thread(write_atomically, serverconf_path, after)
        log.info("admin.access_rights_changed", key_id=caller.key_id, role=str(caller.role),
                 action="grant" if add else "revoke", right=_right_json(right),
                 rights_before=len(before.access_rights), rights_after=len(after.access_rights))
        return web.json_response(_right_json(right), status=201 if add else 200)

    async def grant_right(request: web.Request, caller: ApiKey) -> web.Response:
        return await change(request, caller, add=True)

    async def revoke_right(request: web.Request, caller: ApiKey) -> web.Response:
        return await change(request, caller, add=False)

    async def checkpoint(_: web.Request, __: ApiKey) -> web.Response:
        """The audit log's signed checkpoint covering every record so far (C2SP note)."""
        if checkpointer is None:
            return _json_error(404, "NotFound", "this server signs no checkpoints")
        note = await asyncio.to_thread(checkpointer.checkpoint)
        return web.Response(body=note, content_type="text/plain", charset="utf-8")

    async def seal(_: web.Request, caller: ApiKey) -> web.Response:
        """A fresh checkpoint over every record so far, time-stamped by the TSA (evidence an
        auditor can take away: the note, and the token over its exact bytes)."""
        if checkpointer is None or stamp is None:
            return _json_error(404, "NotFound", "this server signs no checkpoints")
        try:
            note, token = await asyncio.to_thread(checkpointer.seal, stamp)
        except XRoadError as e:
            log.warning("audit.seal_failed", key_id=caller.key_id, reason=str(e))
            return _json_error(503, "TimestampingFailed", str(e))
        return web.json_response({"checkpoint": note.decode(),
                                  "timestamp": base64.b64encode(token).decode()})

    app = web.Application(client_max_size=_MAX_BODY)
    app.router.add_get("/api/v1/access-rights", guarded(list_rights, write=False))
    app.router.add_post("/api/v1/access-rights", guarded(grant_right, write=True))
    app.router.add_post("/api/v1/access-rights/revoke", guarded(revoke_right, write=True))
    app.router.add_get("/api/v1/audit/checkpoint", guarded(checkpoint, write=False))
    app.router.add_post("/api/v1/audit/seal", guarded(seal, write=False))
    if monitor is not None:
        add_metrics_routes(app, monitor, guarded)
    if audit is not None:
        add_audit_routes(app, audit, audit_read=allowed(AUDIT_READERS),
                         data_access_read=allowed(DATA_ACCESS_READERS),
                         admin_write=allowed(ADMINISTRATORS),
                         traffic_read=allowed(AUDIT_READERS | CONFIG_READERS),
                         reads_personal=lambda caller: caller.role in AUDIT_READERS)
    return app
