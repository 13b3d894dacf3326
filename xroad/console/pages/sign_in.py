"""Signing in and out, and the language switch.

A failed sign-in is counted per user name and per client address; past the limit the answer
is 429 with Retry-After whatever the password (a guesser learns nothing more), and the event
is logged without the password. A successful sign-in always starts a new session id, so a
session fixed before sign-in is never promoted.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations.

from typing import Annotated, Final

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from xroad.console.sessions import COOKIE
from xroad.console.web import (
    LANG_COOKIE,
    PRE_SESSION_COOKIE,
    check_csrf,
    console,
    cookie_options,
    current_session,
    form_fields,
    render,
    safe_next,
    see_other,
)

log = structlog.get_logger(__name__)
router = APIRouter()

_MAX_FIELD: Final = 1024
_LANG_MAX_AGE: Final = 365 * 24 * 3600


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _form(request: Request, next_path: str, username: str = "", error: str | None = None,
          status_code: int = 200) -> HTMLResponse:
    return render(request, "sign_in/form.html",
                  {"username": username, "error": error, "next": next_path}, status_code)


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_form(request: Request) -> Response:
    if current_session(request) is not None:
        return see_other(safe_next(request.query_params.get("next")))
    return _form(request, safe_next(request.query_params.get("next")))


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request, _: Annotated[None, Depends(check_csrf)]) -> Response:
    ctx = console(request)
    fields = await form_fields(request, _MAX_FIELD)
    username = fields.get("username", "").strip()[:_MAX_FIELD]
    password = fields.get("password", "")
    target = safe_next(fields.get("next") or request.query_params.get("next"))
    address = _address(request)
    wait = ctx.limiter.retry_after(username, address)
    if wait is not None:
        log.warning("console.sign_in_limited", username=username[:64], client=address,
                    retry_after_s=wait)
        response = render(request, "error.html", {
            "title_key": "sign_in.limited.title", "message_key": "sign_in.limited.text",
            "retry_after": wait}, 429)
        response.headers["Retry-After"] = str(wait)
        return response
    if not username or not password:
        return _form(request, target, username, "sign_in.missing", 400)
    user = ctx.accounts.authenticate(username, password)
    if user is None:
        ctx.limiter.failed(username, address)
        log.warning("console.sign_in_failed", username=username[:64], client=address)
        return _form(request, target, username, "sign_in.failed", 401)
    session_id, _active = ctx.sessions.start(user)
    log.info("console.signed_in", username=user.username, role=str(user.role), client=address)
    redirect = RedirectResponse(target, status_code=303)
    redirect.set_cookie(COOKIE, session_id, max_age=ctx.settings.session_ttl_s,
                        **cookie_options(request))
    redirect.delete_cookie(PRE_SESSION_COOKIE, path="/")
    return redirect


@router.post("/sign-out")
async def sign_out(request: Request, _: Annotated[None, Depends(check_csrf)]) -> Response:
    active = current_session(request)
    console(request).sessions.end(request.cookies.get(COOKIE))
    if active is not None:
        log.info("console.signed_out", username=active.user.username)
    response = see_other("/sign-in?notice=notice.signed_out")
    response.delete_cookie(COOKIE, path="/", secure=console(request).settings.cookie_secure,
                           httponly=True, samesite="strict")
    return response


@router.get("/lang/{code}")
async def switch_language(request: Request, code: str) -> Response:
    """Remember the language in a cookie and go back to the page the link was on."""
    response = see_other(safe_next(request.query_params.get("next")))
    if code in console(request).translations.texts:
        response.set_cookie(LANG_COOKIE, code, max_age=_LANG_MAX_AGE, path="/", samesite="lax",
                            secure=console(request).settings.cookie_secure, httponly=True)
    return response
