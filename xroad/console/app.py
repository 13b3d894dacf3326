"""The console's app factory: pages, static files, error pages and security headers.

Pages are the APIRouters of `xroad/console/pages/<name>.py` listed in `PAGES`; a page module
not present yet is skipped (the console is built by parts), any other import error is raised.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from types import ModuleType
from typing import Final

import httpx
import structlog
from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from xroad.central.admin_http import BodyLimit
from xroad.clock import Clock, SystemClock
from xroad.console.accounts import Accounts
from xroad.console.central import CentralApi, CentralError
from xroad.console.db import open_database
from xroad.console.i18n import Translations
from xroad.console.roles import REGISTRY_READERS, STAFF, Role
from xroad.console.sessions import Sessions, SignInLimiter
from xroad.console.settings import ConsoleSettings
from xroad.console.web import (
    ConsoleContext,
    CsrfRefused,
    NavItem,
    PageForbidden,
    ServerLink,
    SignInRequired,
    render,
    see_other,
    sign_in_url,
    template_environment,
)

log = structlog.get_logger(__name__)

# Page modules in navigation order.
PAGES: Final = ("sign_in", "home", "members", "registrations", "globalconf", "access_rights",
                "audit", "traffic", "citizen")
_ALL: Final = tuple(Role)
DEFAULT_NAV: Final = {
    "home": NavItem("home", "/", "nav.home", _ALL),
    "members": NavItem("members", "/members", "nav.members", REGISTRY_READERS),
    "registrations": NavItem("registrations", "/registrations", "nav.registrations",
                             REGISTRY_READERS),
    "globalconf": NavItem("globalconf", "/globalconf", "nav.globalconf", STAFF),
    "access_rights": NavItem("access_rights", "/access-rights", "nav.access",
                             (Role.SECURITY_SERVER_OPERATOR, Role.ADMINISTRATOR)),
    "audit": NavItem("audit", "/audit", "nav.audit", (Role.AUDITOR,)),
    "traffic": NavItem("traffic", "/traffic", "nav.traffic",
                       (Role.AUDITOR, Role.SECURITY_SERVER_OPERATOR, Role.ADMINISTRATOR)),
    "citizen": NavItem("citizen", "/citizen", "nav.citizen", (Role.CITIZEN, Role.AUDITOR)),
}

_CSP: Final = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": _CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def load_pages() -> list[tuple[str, ModuleType]]:
    """(name, module) of each page module present."""
    found: list[tuple[str, ModuleType]] = []
    for name in PAGES:
        module_name = f"xroad.console.pages.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name == module_name:
                continue
            raise
        found.append((name, module))
    return found


def create_app(settings: ConsoleSettings, clock: Clock | None = None,
               transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """The console for `settings` (`transport` lets unit tests answer for the APIs)."""
    clock = clock or SystemClock()
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # hashes, sessions
    engine = open_database(settings.db_url())
    http = httpx.AsyncClient(timeout=settings.api_timeout_s, transport=transport,
                             follow_redirects=False)
    pages = load_pages()
    nav = []
    for name, module in pages:
        item = getattr(module, "NAV", DEFAULT_NAV.get(name))
        if isinstance(item, NavItem):
            nav.append(item)
    context = ConsoleContext(
        settings=settings,
        central=CentralApi(settings.central_url, settings.central_key_dir, http),
        servers=tuple(ServerLink(s.id, s.admin_url.rstrip("/"), s.key_dir)
                      for s in settings.servers),
        accounts=Accounts(engine, clock),
        sessions=Sessions(engine, clock, timedelta(seconds=settings.session_ttl_s)),
        limiter=SignInLimiter(clock, settings.sign_in_max_failures,
                              timedelta(seconds=settings.sign_in_window_s)),
        translations=Translations.load(), templates=template_environment(), http=http,
        clock=clock, nav=tuple(nav))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await http.aclose()
        engine.dispose()

    app = FastAPI(title="X-Road bus console", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.console = context
    for _name, module in pages:
        app.include_router(module.router)
    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    app.mount("/static", StaticFiles(packages=[("xroad.console", "static")]), name="static")
    _install_error_pages(app)
    app.add_middleware(BodyLimit, prefix="/")

    @app.middleware("http")
    async def security_headers(request: Request,
                               call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app


def _install_error_pages(app: FastAPI) -> None:
    """Errors are pages in the user's language, never a traceback."""

    async def sign_in_required(_: Request, e: Exception) -> Response:
        assert isinstance(e, SignInRequired)  # noqa: S101
        return see_other(sign_in_url(e.next_path))

    async def forbidden(request: Request, _: Exception) -> Response:
        return render(request, "error.html", {"title_key": "error.forbidden.title",
                                              "message_key": "error.forbidden.text"}, 403)

    async def csrf(request: Request, _: Exception) -> Response:
        return render(request, "error.html", {"title_key": "error.csrf.title",
                                              "message_key": "error.csrf.text"}, 403)

    async def central(request: Request, e: Exception) -> Response:
        assert isinstance(e, CentralError)  # noqa: S101
        status = e.status if e.status in (403, 404) else 502
        return render(request, "error.html", {"title_key": "error.central.title",
                                              "message": e.message}, status)

    async def http_error(request: Request, e: Exception) -> Response:
        assert isinstance(e, StarletteHTTPException)  # noqa: S101
        key = {404: "error.not_found", 405: "error.method"}.get(e.status_code, "error.bad")
        return render(request, "error.html", {"title_key": f"{key}.title",
                                              "message_key": f"{key}.text"}, e.status_code)

    async def validation(request: Request, _: Exception) -> Response:
        return render(request, "error.html", {"title_key": "error.bad.title",
                                              "message_key": "error.bad.text"}, 400)

    async def bug(request: Request, e: Exception) -> Response:
        log.error("console.internal_error", path=request.url.path, exc_info=e)
        return render(request, "error.html", {"title_key": "error.internal.title",
                                              "message_key": "error.internal.text"}, 500)

    from fastapi.exceptions import RequestValidationError  # noqa: PLC0415

    app.add_exception_handler(SignInRequired, sign_in_required)
    app.add_exception_handler(PageForbidden, forbidden)
    app.add_exception_handler(CsrfRefused, csrf)
    app.add_exception_handler(CentralError, central)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(Exception, bug)
