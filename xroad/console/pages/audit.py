"""Audit pages (auditor): search a security server's query log, a record with its inclusion
proof (checked here and in the browser), the checkpoint history, evidence bundles.

Everything comes from the server's auditor API with the auditor key; the console adds two
independent checks: `proof.check_record` (audit.merkle, the checkpoint's signature with the
published log key) and `static/proof.js` in the auditor's own browser.
"""

# No `from __future__ import annotations`: FastAPI reads the dependencies' annotations.

import base64
import binascii
from typing import Annotated, Any, Final
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import HTMLResponse

from audit.checkpoint import CheckpointError, verify
from audit.checkpointer import key_name
from audit.merkle import ProofError, verify_consistency
from xroad.console.proof import check_record, log_key
from xroad.console.server_pages import field, iso_time, pick_server, server_client
from xroad.console.servers import ServerApiError
from xroad.console.web import ConsoleUser, Role, check_csrf, console, render, require

log = structlog.get_logger(__name__)
router = APIRouter()

Auditor = Annotated[ConsoleUser, Depends(require(Role.AUDITOR))]
Text = Annotated[str | None, Query(max_length=512)]
PAGE_SIZE: Final = 25
MAX_BACK: Final = 40  # earlier page cursors kept in the URL for "previous"
FILTERS: Final = ("client", "service", "user_id", "issue", "outcome", "message_id")


def failed(request: Request, error: ServerApiError) -> HTMLResponse:
    """A security server's refusal as a page (its own message; 502 if it did not answer)."""
    log.warning("console.server_refused", server=error.server_id, status=error.status,
                kind=error.kind)
    status = error.status if error.status in (400, 403, 404, 409) else 502
    return render(request, "error.html", {"title_key": "audit.server_error",
                                          "message": str(error)}, status)


def _filters(since: str | None, until: str | None, values: dict[str, str | None]
             ) -> dict[str, str | None]:
    found = {name: field(values.get(name)) for name in FILTERS}
    return {"since": iso_time(since), "until": iso_time(until), **found}


@router.get("/audit", response_class=HTMLResponse)
async def search_page(request: Request, user: Auditor, server: Text = None,
                      since: Text = None, until: Text = None, client: Text = None,
                      service: Text = None, user_id: Text = None, issue: Text = None,
                      outcome: Text = None, message_id: Text = None,
                      after: Annotated[int | None, Query(ge=-1)] = None,
                      back: Annotated[str, Query(max_length=1000)] = "") -> Response:
    ctx = console(request)
    link = pick_server(ctx, server)
    form = {"since": since or "", "until": until or "", "client": client, "service": service,
            "user_id": user_id, "issue": issue, "outcome": outcome or "",
            "message_id": message_id}
    filters = _filters(since, until, form)
    try:
        page = await server_client(ctx, link, "audit", user.role).search(
            filters, after=after, limit=PAGE_SIZE)
    except ServerApiError as e:
        return failed(request, e)
    records = page.items
    base = {"server": link.id, **{k: v for k, v in form.items() if v}}
    trail = [int(b) for b in back.split(",") if b.lstrip("-").isdigit()][-MAX_BACK:]
    next_url = prev_url = None
    if page.next_after is not None:
        next_url = "/audit?" + urlencode({**base, "after": page.next_after, "back": ",".join(
            str(b) for b in [*trail, -1 if after is None else after])})
    if after is not None and after >= 0:  # -1 is the first page too
        previous = trail[-1] if trail else -1
        prev_url = "/audit?" + urlencode({**base, "after": previous,
                                          "back": ",".join(str(b) for b in trail[:-1])})
    return render(request, "audit/search.html", {
        "servers": ctx.servers, "server": link, "form": form, "records": records,
        "next_url": next_url, "prev_url": prev_url})


@router.get("/audit/records/{index}", response_class=HTMLResponse)
async def record_page(request: Request, index: int, user: Auditor,
                      server: Text = None) -> Response:
    ctx = console(request)
    link = pick_server(ctx, server)
    api = server_client(ctx, link, "audit", user.role)
    try:
        doc = await api.record(index)
        if "checkpoint" not in doc:  # newer than the last checkpoint: have one signed now
            await api.checkpoint()
            doc = await api.record(index)
    except ServerApiError as e:
        return failed(request, e)
    check = check_record(doc, link.id, log_key(link.key_dir))
    proof = doc.get("proof") or {}
    return render(request, "audit/record.html", {
        "server": link, "index": index, "doc": doc, "record": doc.get("record", {}),
        "check": check, "audit_path": " ".join(proof.get("audit_path", [])),
        "checkpoint": doc.get("checkpoint", "")})


def _root(note: str, server_id: str, key: Any) -> bytes:
    if key is None:
        return base64.b64decode(note.split("\n")[2], validate=True)
    return verify(note.encode(), key_name(server_id), key).root


def check_history(history: list[dict[str, Any]], server_id: str, key: Any) -> list[bool]:
    """Whether each checkpoint's log is extended unchanged by the newest one."""
    if not history:
        return []
    newest = history[-1]
    results = []
    for entry in history:
        try:
            if entry["size"] == 0:
                results.append(True)
                continue
            verify_consistency(entry["size"], newest["size"], _root(entry["note"], server_id, key),
                               _root(newest["note"], server_id, key),
                               [base64.b64decode(h, validate=True)
                                for h in entry["consistency_to_newest"]])
            results.append(True)
        except (CheckpointError, ProofError, KeyError, IndexError, ValueError, binascii.Error):
            results.append(False)
    return results


@router.get("/audit/checkpoints", response_class=HTMLResponse)
async def checkpoints_page(request: Request, user: Auditor, server: Text = None) -> Response:
    ctx = console(request)
    link = pick_server(ctx, server)
    try:
        history = await server_client(ctx, link, "audit", user.role).checkpoints()
    except ServerApiError as e:
        return failed(request, e)
    key = log_key(link.key_dir)
    consistent = check_history(history, link.id, key)
    rows = list(zip(history, consistent, strict=True))
    rows.reverse()  # newest first
    return render(request, "audit/checkpoints.html", {
        "servers": ctx.servers, "server": link, "rows": rows, "signed": key is not None})


@router.post("/audit/evidence", dependencies=[Depends(check_csrf)])
async def evidence(request: Request, user: Auditor,
                   server: Annotated[str, Form(max_length=512)] = "",
                   since: Annotated[str, Form(max_length=64)] = "",
                   until: Annotated[str, Form(max_length=64)] = "",
                   client: Annotated[str, Form(max_length=512)] = "",
                   service: Annotated[str, Form(max_length=512)] = "") -> Response:
    """Seal a fresh time-stamped checkpoint (as `xroad audit export` does), then download the
    server's bundle of the matching records up to it."""
    ctx = console(request)
    link = pick_server(ctx, server)
    api = server_client(ctx, link, "audit", user.role)
    filters = {"since": iso_time(since), "until": iso_time(until), "client": field(client),
               "service": field(service)}
    try:
        await api.seal()
        bundle = await api.evidence(filters)
    except ServerApiError as e:
        return failed(request, e)
    log.info("console.evidence_exported", username=user.username, server=link.id,
             filters=sorted(k for k, v in filters.items() if v))
    name = f"evidence-{link.id.replace('/', '_')}.tar.gz"
    return Response(bundle, media_type="application/gzip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
