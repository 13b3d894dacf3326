"""Registration requests: the pending ones with what they ask for (the content the requesting
member signed) and who submitted them; approve or reject with a comment; the history; and
the central administration's side of a change to a server's clients, filed from the page.

Decisions go to the central admin API with the key of the user's role; the comment sent names
the console user, so the request's own history says which person decided, not only which key.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations.

import json
from typing import Annotated, Any, Final

import structlog
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, Response

from xroad.console.central import CentralError
from xroad.console.forms import MAX_COMMENT, FormErrors, choice, optional_text, required_text
from xroad.console.roles import DECIDERS, REGISTRY_READERS
from xroad.console.web import (
    ConsoleUser,
    check_csrf,
    console,
    form_fields,
    render,
    require,
    see_other,
)
from xroad.errors import XRoadError
from xroad.identifiers import ClientId

log = structlog.get_logger(__name__)
router = APIRouter()

Reader = Annotated[ConsoleUser, Depends(require(*REGISTRY_READERS))]
Decider = Annotated[ConsoleUser, Depends(require(*DECIDERS))]
RequestId = Annotated[int, Path(ge=1, le=2**31 - 1)]
_SIGNED_FIELDS: Final = ("kind", "server", "client", "address", "auth_cert_sha256")


# What the central administration may file from the console: changes to a server's clients
# (each completed by the security server's own signed request).
CENTER_KINDS: Final = ("client-registration", "client-deletion", "client-disable",
                       "client-enable")


async def _list_page(request: Request, user: ConsoleUser, *, form: dict[str, str] | None = None,
                     errors: FormErrors | None = None, status_code: int = 200) -> HTMLResponse:
    ctx = console(request)
    found = await ctx.central.get(user.role, "/api/v1/registration-requests")
    found.sort(key=lambda r: r["id"], reverse=True)
    servers = ([s["id"] for s in await ctx.central.get(user.role, "/api/v1/security-servers")]
               if user.role in DECIDERS else [])
    return render(request, "registrations/list.html", {
        "pending": [r for r in found if r["status"] == "submitted"],
        "history": [r for r in found if r["status"] != "submitted"],
        "may_decide": user.role in DECIDERS, "kinds": [(k, k) for k in CENTER_KINDS],
        "servers": [(s, s) for s in servers], "form": form or {},
        "errors": errors or FormErrors()}, status_code)


@router.get("/registrations", response_class=HTMLResponse)
async def list_requests(request: Request, user: Reader) -> HTMLResponse:
    return await _list_page(request, user)


@router.post("/registrations", response_class=HTMLResponse)
async def file_request(request: Request, user: Decider,
                       _: Annotated[None, Depends(check_csrf)]) -> Response:
    """The central administration's side of a change to a server's clients."""
    fields = await form_fields(request)
    errors = FormErrors()
    kind = choice(errors, fields, "kind", set(CENTER_KINDS))
    server = required_text(errors, fields, "server")
    client = required_text(errors, fields, "client")
    if client and "client" not in errors.fields:
        try:
            ClientId.parse(client)
        except XRoadError:
            errors.add("client", "form.bad_client")
    if not errors:
        try:
            filed = await console(request).central.post(
                user.role, "/api/v1/registration-requests",
                {"kind": kind, "server": server, "client": client})
        except CentralError as e:
            if e.status >= 500:
                raise
            errors.general = e.message
        else:
            log.info("console.request_filed", username=user.username, request_id=filed["id"],
                     kind=kind, server=server, client=client)
            notice = "request_filed" if filed["status"] == "submitted" else "request_approved"
            return see_other(f"/registrations/{filed['id']}?notice=notice.{notice}")
    return await _list_page(request, user, form=fields, errors=errors, status_code=400)


async def _detail(request: Request, user: ConsoleUser, request_id: int, *,
                  comment: str = "", errors: FormErrors | None = None,
                  status_code: int = 200) -> HTMLResponse:
    found = await console(request).central.get(
        user.role, f"/api/v1/registration-requests/{request_id}")
    return render(request, "registrations/detail.html", {
        "r": found, "signed_text": signed_text(found), "comment": comment,
        "errors": errors or FormErrors(), "may_decide": user.role in DECIDERS}, status_code)


def signed_text(found: dict[str, Any]) -> str:
    """The payload the requester signed, indented for reading (the bytes signed are the
    compact form the central server keeps); the request's fields if it has none."""
    try:
        return json.dumps(json.loads(found["payload"]), indent=2, ensure_ascii=False,
                          sort_keys=True)
    except (KeyError, TypeError, ValueError):
        return json.dumps({k: found[k] for k in _SIGNED_FIELDS if found.get(k) is not None},
                          indent=2, ensure_ascii=False)


@router.get("/registrations/{request_id}", response_class=HTMLResponse)
async def show_request(request: Request, request_id: RequestId, user: Reader) -> HTMLResponse:
    return await _detail(request, user, request_id)


async def _decide(request: Request, user: ConsoleUser, request_id: int, action: str
                  ) -> Response:
    fields = await form_fields(request, MAX_COMMENT)
    errors = FormErrors()
    comment = optional_text(errors, fields, "comment")
    if action == "reject" and not comment and not errors:
        errors.add("comment", "registration.reject_needs_comment")
    if not errors:
        signed_comment = f"{comment} [console: {user.username}]".strip()
        try:
            await console(request).central.post(
                user.role, f"/api/v1/registration-requests/{request_id}/{action}",
                {"comment": signed_comment})
        except CentralError as e:
            if e.status >= 500 or e.status == 404:
                raise
            errors.general = e.message
        else:
            log.info(f"console.request_{action}ed", username=user.username,
                     request_id=request_id)
            notice = "request_approved" if action == "approve" else "request_rejected"
            return see_other(f"/registrations/{request_id}?notice=notice.{notice}")
    return await _detail(request, user, request_id, comment=comment[:MAX_COMMENT],
                         errors=errors, status_code=400)


@router.post("/registrations/{request_id}/approve", response_class=HTMLResponse)
async def approve(request: Request, request_id: RequestId, user: Decider,
                  _: Annotated[None, Depends(check_csrf)]) -> Response:
    return await _decide(request, user, request_id, "approve")


@router.post("/registrations/{request_id}/reject", response_class=HTMLResponse)
async def reject(request: Request, request_id: RequestId, user: Decider,
                 _: Annotated[None, Depends(check_csrf)]) -> Response:
    return await _decide(request, user, request_id, "reject")
