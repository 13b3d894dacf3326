"""HTTP plumbing of the central admin API: bounded bodies, one error shape, authentication.

Every error is JSON `{"type", "message"}` with 400, 401, 403, 404, 409 or 413; a bug is a
500 `InternalError` without a traceback. The error table is here so every route agrees.
"""

# No `from __future__ import annotations`: FastAPI must resolve the dependency's annotations.

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Final

import structlog
from fastapi import FastAPI, HTTPException, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xroad.central.admin_auth import Authenticator, Principal, parse_authorization
from xroad.central.errors import Conflict, NotFound
from xroad.central.roles import Role
from xroad.errors import InvalidMessage, UnknownMember, VerificationError, XRoadError

log = structlog.get_logger(__name__)

MAX_BODY: Final = 64 * 1024

# Status of each error we raise on purpose (most specific class first in the MRO).
STATUS: Final[dict[type[XRoadError], int]] = {
    InvalidMessage: 400,
    VerificationError: 400,
    UnknownMember: 404,
    NotFound: 404,
    Conflict: 409,
}
_HTTP_TYPES: Final = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden",
                      404: "NotFound", 405: "MethodNotAllowed", 409: "Conflict",
                      413: "TooLarge"}
CHALLENGE: Final = {"WWW-Authenticate": 'X-Road-ApiKey, Bearer realm="central-admin"'}


class ApiError(HTTPException):
    """An error of the API itself (authentication, roles), in the common shape."""

    def __init__(self, status: int, kind: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status, message, headers)
        self.kind = kind


def error(status: int, kind: str, message: str,
          headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"type": kind, "message": message}, status_code=status, headers=headers)


def status_of(e: XRoadError) -> int:
    return next((STATUS[c] for c in type(e).__mro__ if c in STATUS), 500)


class BodyLimit:
    """Refuse request bodies over `max_bytes` under `prefix`, declared or streamed."""

    def __init__(self, app: ASGIApp, *, prefix: str, max_bytes: int = MAX_BODY) -> None:
        self.app, self.prefix, self.max_bytes = app, prefix, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await error(413, "TooLarge", f"request body over {self.max_bytes} bytes")(
                scope, receive, send)
            return
        received = 0

        async def bounded() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:  # FastAPI passes an HTTPException on
                    raise ApiError(413, "TooLarge", f"request body over {self.max_bytes} bytes")
            return message

        await self.app(scope, bounded, send)


def install_error_handlers(app: FastAPI, prefix: str) -> None:
    """The common error shape for routes under `prefix`; other routes keep FastAPI's."""
    from fastapi.exception_handlers import (  # noqa: PLC0415 - defaults for other routes
        http_exception_handler,
        request_validation_exception_handler,
    )

    async def xroad_error(_: Request, e: Exception) -> JSONResponse:
        assert isinstance(e, XRoadError)  # noqa: S101 - registered for XRoadError only
        status = status_of(e)
        if status == 500:
            log.error("admin_api.unexpected_error", error=type(e).__name__, reason=str(e))
        return error(status, type(e).__name__, str(e) or type(e).__name__)

    async def validation(request: Request, e: Exception) -> Any:
        assert isinstance(e, RequestValidationError)  # noqa: S101
        if not request.url.path.startswith(prefix):
            return await request_validation_exception_handler(request, e)
        return error(400, "BadRequest", _describe(e.errors()))

    async def http_error(request: Request, e: Exception) -> Any:
        assert isinstance(e, StarletteHTTPException)  # noqa: S101
        if not request.url.path.startswith(prefix):
            return await http_exception_handler(request, e)
        kind = e.kind if isinstance(e, ApiError) else _HTTP_TYPES.get(e.status_code, "Error")
        return error(e.status_code, kind, str(e.detail), dict(e.headers or {}) or None)

    async def bug(_: Request, e: Exception) -> JSONResponse:
        log.error("admin_api.internal_error", exc_info=e)
        return error(500, "InternalError", "internal error; see the central server's log")

    app.add_exception_handler(XRoadError, xroad_error)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, bug)


def _describe(errors: Sequence[Any]) -> str:
    parts = []
    for e in errors[:5]:
        where = ".".join(str(p) for p in e.get("loc", ())[1:]) or "body"
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


_AUTHORIZATION = APIKeyHeader(
    name="Authorization", scheme_name="X-Road-ApiKey", auto_error=False,
    description="`X-Road-ApiKey token=<key>` or `Bearer <token>`")

Guard = Callable[[frozenset[Role]], Callable[..., Principal]]


def guard(authenticators: Sequence[Authenticator]) -> Guard:
    """`guard(roles)` is a dependency giving the caller, if one of `roles`; else 401/403."""
    def allow(roles: frozenset[Role]) -> Callable[..., Principal]:
        def caller(request: Request, authorization: Annotated[
                str | None, Security(_AUTHORIZATION)] = None) -> Principal:
            credentials = parse_authorization(authorization)
            principal = None if credentials is None else next(
                (p for a in authenticators if (p := a.authenticate(credentials)) is not None),
                None)
            if principal is None:
                log.warning("admin_api.unauthenticated", path=request.url.path)
                raise ApiError(401, "Unauthorized", "missing or unknown API key", CHALLENGE)
            if principal.role not in roles:
                log.warning("admin_api.forbidden", caller=principal.id, role=str(principal.role),
                            path=request.url.path)
                raise ApiError(403, "Forbidden", f"role {principal.role} may not "
                               f"{request.method} {request.url.path}")
            return principal
        return caller
    return allow
