"""The auditor API on the security server's admin listener (read-only), and the citizen view.

- `GET /api/v1/audit/records`: search (time range, client, service, user id, purpose, outcome,
  message or request id), keyset pages (`after`, `limit`), JSON or CSV (`format=csv`);
- `GET /api/v1/audit/records/{index}`: one record, its leaf bytes, signature and inclusion
  proof in the newest checkpoint (`size` for another);
- `GET /api/v1/audit/checkpoints`: checkpoint history, each with a consistency proof to the
  newest; `GET /api/v1/audit/consistency?from=M&to=N`;
- `GET /api/v1/audit/operational-data`: X-Road style operational monitoring records (also for
  the operators' observer and admin keys, without user ids, purposes and represented parties);
- `GET /api/v1/audit/evidence`: an evidence bundle as `.tar.gz` (`evidence_api`);
- `GET /api/v1/audit/data-access/{registerNumber}`: who asked about a person, when and why
  (embargoes honoured); `POST /api/v1/audit/embargoes` (service administrator).
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final

import structlog
from aiohttp import web

from audit.export import ServerLog
from audit.merkle import leaf_hash
from audit.query import MAX_PAGE, RecordQuery, add_embargo, data_access, search
from audit.store import SqlAuditStore
from audit.subjects import SubjectIndex
from xroad.clock import Clock
from xroad.errors import XRoadError
from xroad.identifiers import ClientId, ServiceId
from xroad.proxy.evidence_api import evidence_handler

log = structlog.get_logger(__name__)

CSV_FIELDS: Final = ("index", "at", "kind", "security_server", "client", "service", "user_id",
                     "issue", "represented_party", "message_id", "request_id", "outcome",
                     "latency_ms", "message_digest", "signature_digest", "signer_cert_sha256")
_FILTERS: Final = ("client", "service", "user_id", "issue", "outcome", "message_id",
                   "request_id", "kind")
# What operational data shows only to auditors: who the official was and why they asked.
# Operators (observer, service administrator keys) see the traffic without them, as X-Road's
# operational monitoring serves the security server's owner, and may not filter by them.
_PERSONAL_FILTERS: Final = ("user_id", "issue")
_PERSONAL_FIELDS: Final = ("messageUserId", "messageIssue", "representedPartyCode")


class BadQuery(ValueError):
    """A query parameter the API cannot use (answered with 400)."""


Route = Callable[[web.Request, Any], Awaitable[web.Response]]
Guard = Callable[[Route], Callable[[web.Request], Awaitable[web.Response]]]


@dataclass(frozen=True)
class AuditAccess:
    """What the auditor API reads: this server's log, its subject index and clock."""

    store: SqlAuditStore
    subjects: SubjectIndex
    clock: Clock
    server_id: str
    hosts: Callable[[str], bool] = lambda _client: False  # is this client hosted here?
    evidence: ServerLog | None = None  # where its log key and CA chain are, for bundles


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _time(params: Any, name: str) -> datetime | None:
    value = params.get(name)
    if not value:
        return None
    if not isinstance(value, str):  # a JSON body may hold any type
        raise BadQuery(f"{name} is not an ISO 8601 time: {value!r}")
    try:
        at = datetime.fromisoformat(value)
    except ValueError as e:
        raise BadQuery(f"{name} is not an ISO 8601 time: {value!r}") from e
    if at.tzinfo is None:
        raise BadQuery(f"{name} needs a time zone (e.g. 2026-11-25T10:00:00Z)")
    try:
        at.astimezone(UTC)  # compared as naive UTC, which e.g. 9999-12-31T23:59-01:00 overflows
    except OverflowError as e:
        raise BadQuery(f"{name} is out of range: {value!r}") from e
    return at


def _subject_keys(subjects: SubjectIndex, number: str) -> tuple[str, ...]:
    """The stored key of `number` if it is one register number and nothing else."""
    if len(number) > 64 or not re.fullmatch(subjects.pattern, number.strip(), re.IGNORECASE):
        return ()
    return subjects.find(number)


def _int(params: Any, name: str, default: int, low: int, high: int) -> int:
    value = params.get(name)
    if value is None or value == "":
        return default
    if not value.lstrip("-").isdigit() or len(value) > 19:
        raise BadQuery(f"{name} is not an integer: {value!r}")
    number = int(value)
    if not low <= number <= high:
        raise BadQuery(f"{name} must be between {low} and {high}")
    return number


def record_query(params: Any) -> RecordQuery:
    values: dict[str, str | None] = {name: params.get(name) or None for name in _FILTERS}
    for name, value in values.items():
        if value is not None and len(value) > 512:
            raise BadQuery(f"{name} is too long")
    if values["kind"] not in (None, "request", "response"):
        raise BadQuery("kind is request or response")
    return RecordQuery(since=_time(params, "since"), until=_time(params, "until"), **values)


def _csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_FIELDS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        # A leading =, +, - or @ would be a formula in a spreadsheet: quote it as text.
        writer.writerow({k: ("'" + v if isinstance(v, str) and v[:1] in "=+-@" else v)
                         for k, v in row.items()})
    return out.getvalue().encode()


def _opmon(index: int, doc: dict[str, Any], role: str) -> dict[str, Any]:
    """A response record in X-Road's operational monitoring field names."""
    client = ClientId.parse(doc["client"])
    service = ServiceId.parse(doc["service"])
    provider = service.provider
    return {
        "id": index, "monitoringDataTs": doc["at"], "securityServerType": role,
        "clientXRoadInstance": client.instance, "clientMemberClass": client.member_class,
        "clientMemberCode": client.member_code, "clientSubsystemCode": client.subsystem_code,
        "serviceXRoadInstance": provider.instance, "serviceMemberClass": provider.member_class,
        "serviceMemberCode": provider.member_code,
        "serviceSubsystemCode": provider.subsystem_code,
        "serviceCode": service.service_code, "serviceVersion": service.service_version,
        "messageId": doc["message_id"], "messageUserId": doc.get("user_id"),
        "messageIssue": doc.get("issue"), "xRequestId": doc["request_id"],
        "representedPartyCode": doc.get("represented_party"),
        "totalDuration": doc.get("latency_ms"), "succeeded": doc["outcome"] == "ok",
        "faultCode": None if doc["outcome"] == "ok" else doc["outcome"],
    }


def _bad_request(e: Exception) -> web.Response:
    return web.json_response({"type": "BadRequest", "message": str(e)}, status=400)


def _page(params: Any) -> tuple[int, int]:
    return (_int(params, "after", -1, -1, 2**62), _int(params, "limit", 100, 1, MAX_PAGE))


@dataclass(frozen=True)
class AuditApi:
    access: AuditAccess
    reads_personal: Callable[[Any], bool] = lambda _caller: True  # who sees user id, purpose

    @property
    def store(self) -> SqlAuditStore:
        return self.access.store

    async def records(self, request: web.Request, _: Any) -> web.Response:
        try:
            query = record_query(request.query)
            after, limit = _page(request.query)
        except BadQuery as e:
            return _bad_request(e)
        found = await asyncio.to_thread(search, self.store, query, after=after, limit=limit)
        rows = [{"index": r.index, **r.fields} for r in found]
        if request.query.get("format") == "csv":
            return web.Response(body=_csv(rows), content_type="text/csv", charset="utf-8")
        return web.json_response({"records": rows,
                                  "next_after": rows[-1]["index"] if len(rows) == limit else None})

    def _one(self, index: int, size: int | None) -> dict[str, Any] | None:
        stored = self.store.record(index)
        if stored is None:
            return None
        latest = self.store.latest_checkpoint()
        doc: dict[str, Any] = {
            "index": index, "record": json.loads(stored.leaf), "leaf": _b64(stored.leaf),
            "leaf_hash": _b64(leaf_hash(stored.leaf)),
            "signature": None if stored.signature is None else _b64(stored.signature)}
        tree_size = size if size is not None else (latest[0] if latest else None)
        if tree_size is not None and index < tree_size <= self.store.size():
            doc["proof"] = {"tree_size": tree_size, "root": _b64(self.store.root(tree_size)),
                            "audit_path": [_b64(h) for h in
                                           self.store.inclusion_proof(index, tree_size)]}
            if latest is not None and latest[0] == tree_size:
                doc["checkpoint"] = latest[1].decode()
        return doc

    async def record(self, request: web.Request, _: Any) -> web.Response:
        try:
            index = _int(request.match_info, "index", 0, 0, 2**62)
            size = (_int(request.query, "size", 0, 1, 2**62) if request.query.get("size")
                    else None)
        except BadQuery as e:
            return _bad_request(e)
        doc = await asyncio.to_thread(self._one, index, size)
        if doc is None:
            return web.json_response({"type": "NotFound",
                                      "message": f"no record {index} in the live log"},
                                     status=404)
        return web.json_response(doc)

    def _history(self) -> list[dict[str, Any]]:
        checkpoints = self.store.checkpoints()
        if not checkpoints:
            return []
        newest = checkpoints[-1].size
        return [{"size": c.size, "note": c.note.decode(), "created_at": c.created_at.isoformat(),
                 "timestamped": self.store.timestamp_of(c.size) is not None,
                 "consistency_to_newest": [_b64(h) for h in
                                           self.store.consistency_proof(c.size, newest)]
                 if c.size > 0 else []}
                for c in checkpoints]

    async def checkpoints(self, _: web.Request, __: Any) -> web.Response:
        return web.json_response({"checkpoints": await asyncio.to_thread(self._history)})

    async def consistency(self, request: web.Request, _: Any) -> web.Response:
        try:
            size = await asyncio.to_thread(self.store.size)
            first = _int(request.query, "from", 0, 1, size)
            second = _int(request.query, "to", size, first, size)
        except BadQuery as e:
            return _bad_request(e)
        proof = await asyncio.to_thread(self.store.consistency_proof, first, second)
        return web.json_response({"from": first, "to": second,
                                  "proof": [_b64(h) for h in proof]})

    async def operational_data(self, request: web.Request, caller: Any) -> web.Response:
        personal = self.reads_personal(caller)
        try:
            if not personal and any(request.query.get(f) for f in _PERSONAL_FILTERS):
                raise BadQuery("only auditors may search by user id or purpose")
            query = replace(record_query(request.query), kind="response")
            after, limit = _page(request.query)
        except BadQuery as e:
            return _bad_request(e)
        found = await asyncio.to_thread(search, self.store, query, after=after, limit=limit)
        data = [_opmon(r.index, r.fields,
                       "Client" if self.access.hosts(r.fields["client"]) else "Producer")
                for r in found]
        if not personal:
            data = [{**d, **dict.fromkeys(_PERSONAL_FIELDS)} for d in data]
        return web.json_response({"records": data, "nextRecordsFrom": data[-1]["id"]
                                  if len(data) == limit else None})

    async def data_access(self, request: web.Request, caller: Any) -> web.Response:
        number = request.match_info["subject"]
        keys = _subject_keys(self.access.subjects, number)
        if len(keys) != 1:
            return _bad_request(BadQuery("not a register number"))
        try:
            after, limit = _page(request.query)
        except BadQuery as e:
            return _bad_request(e)
        found = await asyncio.to_thread(data_access, self.store, keys,
                                        self.access.clock.now(), after=after, limit=limit)
        log.info("audit.data_access_viewed", key_id=getattr(caller, "key_id", None))
        return web.json_response({
            "security_server": self.access.server_id,
            "accesses": [{"index": a.index, "at": a.at, "agency": a.client, "service": a.service,
                          "purpose": a.purpose, "outcome": a.outcome} for a in found],
            "next_after": found[-1].index if len(found) == limit else None})

    async def embargo(self, request: web.Request, caller: Any) -> web.Response:
        try:
            doc = json.loads(await request.content.read(16 * 1024 + 1))
            if not isinstance(doc, dict):
                raise BadQuery("expected a JSON object")
            keys = _subject_keys(self.access.subjects, str(doc.get("register_number", "")))
            until = _time(doc, "until")
            if len(keys) != 1 or until is None:
                raise BadQuery("give register_number, until (ISO time with zone) and reason")
            client = None if doc.get("client") is None else str(
                ClientId.parse(str(doc["client"])))
            await asyncio.to_thread(add_embargo, self.store, keys[0], until,
                                    str(doc.get("reason", "")), self.access.clock.now(), client)
        except (ValueError, XRoadError) as e:
            return _bad_request(e)
        log.info("audit.embargo_added", key_id=getattr(caller, "key_id", None),
                 until=until.isoformat(), client=client)
        return web.json_response({"until": until.isoformat(), "client": client}, status=201)


def add_audit_routes(app: web.Application, access: AuditAccess, *, audit_read: Guard,
                     data_access_read: Guard, admin_write: Guard, traffic_read: Guard,
                     reads_personal: Callable[[Any], bool]) -> None:
    """`traffic_read` admits operational data (without personal fields unless
    `reads_personal(caller)`); every other route is the auditor's or as named."""
    api = AuditApi(access, reads_personal)
    app.router.add_get("/api/v1/audit/records", audit_read(api.records))
    app.router.add_get("/api/v1/audit/records/{index}", audit_read(api.record))
    app.router.add_get("/api/v1/audit/checkpoints", audit_read(api.checkpoints))
    app.router.add_get("/api/v1/audit/consistency", audit_read(api.consistency))
    app.router.add_get("/api/v1/audit/operational-data", traffic_read(api.operational_data))
    app.router.add_get("/api/v1/audit/data-access/{subject}", data_access_read(api.data_access))
    app.router.add_post("/api/v1/audit/embargoes", admin_write(api.embargo))
    if access.evidence is not None:
        app.router.add_get("/api/v1/audit/evidence", audit_read(evidence_handler(
            access.store, access.evidence, access.clock, record_query)))
