"""Access rights of a security server: which clients may call which services (and REST
endpoints); security server operators grant and revoke, administrators read.

The server's admin API is the only copy: a grant or revoke is one call with the service
administrator key, which the server checks, applies within a second and logs with the key
id. Its refusals (unknown identifier, malformed endpoint) are shown as it words them.
"""

# No `from __future__ import annotations`: FastAPI reads the dependencies' annotations.

from typing import Annotated, Final
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import HTMLResponse

from xroad.console.server_pages import pick_server, server_client
from xroad.console.servers import AccessRightRow, ServerApiError
from xroad.console.web import (
    ConsoleUser,
    Role,
    check_csrf,
    console,
    render,
    require,
    see_other,
)

log = structlog.get_logger(__name__)
router = APIRouter()

Reader = Annotated[ConsoleUser, Depends(require(Role.SECURITY_SERVER_OPERATOR,
                                                Role.ADMINISTRATOR))]
Operator = Annotated[ConsoleUser, Depends(require(Role.SECURITY_SERVER_OPERATOR))]
Field = Annotated[str, Form(max_length=512)]
DONE: Final = ("granted", "revoked")
METHODS: Final = ("", "GET", "POST", "PUT", "PATCH", "DELETE", "*")


async def _page(request: Request, user: ConsoleUser, server_id: str | None, *,
                error: str | None = None, error_key: str | None = None,
                form: dict[str, str] | None = None, done: str | None = None,
                status: int = 200) -> Response:
    ctx = console(request)
    link = pick_server(ctx, server_id)
    rights: list[AccessRightRow] = []
    load_error = None
    try:
        rights = await server_client(ctx, link, "access-rights", user.role).access_rights()
    except ServerApiError as e:
        load_error, status = str(e), 502 if status == 200 else status
    rights.sort(key=lambda r: (r.service, r.subject, r.method or "", r.path or ""))
    return render(request, "access/list.html", {
        "servers": ctx.servers, "server": link, "rights": rights, "error": error,
        "error_key": error_key,
        "load_error": load_error, "form": form or {}, "done": done if done in DONE else None,
        "may_change": user.role == Role.SECURITY_SERVER_OPERATOR, "methods": METHODS},
        status)


@router.get("/access-rights", response_class=HTMLResponse)
async def list_page(request: Request, user: Reader,
                    server: Annotated[str | None, Query(max_length=512)] = None,
                    done: Annotated[str | None, Query(max_length=16)] = None) -> Response:
    return await _page(request, user, server, done=done)


def _right(subject: str, service: str, method: str, path: str) -> AccessRightRow:
    method, path = method.strip().upper(), path.strip()
    return AccessRightRow(subject.strip(), service.strip(), method or None, path or None)


async def _change(request: Request, user: ConsoleUser, server: str, right: AccessRightRow,
                  *, grant: bool) -> Response:
    ctx = console(request)
    link = pick_server(ctx, server)
    form = {"subject": right.subject, "service": right.service, "method": right.method or "",
            "path": right.path or ""}
    if not right.subject or not right.service:
        return await _page(request, user, link.id, error_key="access.missing", form=form,
                           status=400)
    if (right.method is None) != (right.path is None):
        return await _page(request, user, link.id, error_key="access.endpoint_pair", form=form,
                           status=400)
    api = server_client(ctx, link, "access-rights", user.role)
    try:
        await (api.grant(right) if grant else api.revoke(right))
    except ServerApiError as e:
        status = 400 if e.status == 400 else 502
        return await _page(request, user, link.id, error=e.message, form=form, status=status)
    log.info("console.access_right_changed", username=user.username, server=link.id,
             action="grant" if grant else "revoke", subject=right.subject, service=right.service,
             method=right.method, path=right.path)
    done = "granted" if grant else "revoked"
    return see_other("/access-rights?" + urlencode({"server": link.id, "done": done}))


@router.post("/access-rights/grant", dependencies=[Depends(check_csrf)])
async def grant(request: Request, user: Operator, server: Field = "", subject: Field = "",
                service: Field = "", method: Field = "", path: Field = "") -> Response:
    return await _change(request, user, server, _right(subject, service, method, path),
                         grant=True)


@router.post("/access-rights/revoke", dependencies=[Depends(check_csrf)])
async def revoke(request: Request, user: Operator, server: Field = "", subject: Field = "",
                 service: Field = "", method: Field = "", path: Field = "") -> Response:
    return await _change(request, user, server, _right(subject, service, method, path),
                         grant=False)
