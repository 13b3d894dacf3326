"""Web glue shared by every console page: who is signed in, role checks, CSRF, rendering.

This is the contract between page modules (`xroad/console/pages/*.py`, each an APIRouter):
    user: ConsoleUser = Depends(require(Role.AUDITOR))   # 303 to sign-in, or a 403 page
    _: None = Depends(check_csrf)                        # every POST form: field "csrf_token"
    return render(request, "audit/search.html", {...})   # adds user, lang, t, csrf_token, nav
    ctx = console(request)                               # settings, central API, servers, ...
Pages never see API keys' values except through `ServerLink.key(...)` / `CentralApi`, and
never put them in a page.
"""

# No `from __future__ import annotations`: FastAPI reads the dependencies' annotations.

import hmac
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlsplit

import httpx
import jinja2
import structlog
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from xroad.clock import Clock
from xroad.console.accounts import Accounts
from xroad.console.central import CentralApi
from xroad.console.i18n import Translations
from xroad.console.roles import DECIDERS, REGISTRY_READERS, STAFF, ConsoleUser, Role
from xroad.console.sessions import COOKIE, ActiveSession, Sessions, SignInLimiter
from xroad.console.settings import ConsoleSettings

__all__ = [
    "DECIDERS", "REGISTRY_READERS", "STAFF", "ConsoleContext", "ConsoleUser", "CsrfRefused",
    "NavItem", "PageForbidden", "Role", "ServerLink", "SignInRequired", "check_csrf",
    "console", "current_session", "form_fields", "language", "render", "require",
    "safe_next", "see_other",
]

log = structlog.get_logger(__name__)

CSRF_FIELD: Final = "csrf_token"
PRE_SESSION_COOKIE: Final = "console_csrf"  # CSRF token of the sign-in form (no session yet)
LANG_COOKIE: Final = "lang"


@dataclass(frozen=True)
class ServerLink:
    """A security server's admin listener; `key("auditor-api-key")` reads one of its API keys
    (admin-api-key, observer-api-key, auditor-api-key, data-access-api-key) when needed."""

    id: str
    admin_url: str
    key_dir: Path

    def key(self, role_file: str) -> str:
        if "/" in role_file or role_file.startswith("."):
            raise ValueError(f"not a key file name: {role_file!r}")
        return (self.key_dir / role_file).read_text(encoding="utf-8").strip()


@dataclass(frozen=True)
class NavItem:
    """A page in the navigation: shown only to `roles` (keep them equal to the page's
    `require(...)`). A page module may export `NAV: NavItem` to override its default."""

    page: str  # module name in xroad/console/pages/
    path: str
    label: str  # translation key
    roles: tuple[Role, ...]


@dataclass(frozen=True)
class ConsoleContext:
    settings: ConsoleSettings
    central: CentralApi
    servers: tuple[ServerLink, ...]
    accounts: Accounts
    sessions: Sessions
    limiter: SignInLimiter
    translations: Translations
    templates: jinja2.Environment
    http: httpx.AsyncClient  # shared pool, timeouts from settings; for the security servers too
    clock: Clock
    nav: tuple[NavItem, ...] = field(default=())

    def server(self, server_id: str) -> ServerLink | None:
        return next((s for s in self.servers if s.id == server_id), None)


class SignInRequired(Exception):
    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PageForbidden(Exception):
    """The signed-in user's role may not use this page."""


class CsrfRefused(Exception):
    """A form came without this session's CSRF token."""


def console(request: Request) -> ConsoleContext:
    found = request.app.state.console
    assert isinstance(found, ConsoleContext)  # noqa: S101 - set by create_app
    return found


def current_session(request: Request) -> ActiveSession | None:
    """The session of this request's cookie (looked up once per request)."""
    if not hasattr(request.state, "console_session"):
        request.state.console_session = console(request).sessions.find(
            request.cookies.get(COOKIE))
    found = request.state.console_session
    return found if isinstance(found, ActiveSession) else None


def safe_next(path: str | None) -> str:
    """A local path to go back to after signing in; anything else (another site, `//host`,
    a scheme) becomes the home page."""
    if not path or not path.startswith("/") or path.startswith(("//", "/\\")) or len(path) > 2000:
        return "/"
    parts = urlsplit(path)
    if parts.scheme or parts.netloc or any(c in path for c in "\r\n\t"):
        return "/"
    return path


def require(*roles: Role) -> Callable[..., Awaitable[ConsoleUser]]:
    """A dependency giving the signed-in user if their role is one of `roles` (any role if
    none are named); no session: 303 to /sign-in?next=...; another role: a 403 page."""
    allowed = frozenset(roles)

    async def signed_in_user(request: Request) -> ConsoleUser:
        active = current_session(request)
        if active is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise SignInRequired(safe_next(target))
        if allowed and active.user.role not in allowed:
            log.warning("console.forbidden", username=active.user.username,
                        role=str(active.user.role), path=request.url.path)
            raise PageForbidden(request.url.path)
        return active.user

    return signed_in_user


def _expected_csrf(request: Request) -> str | None:
    active = current_session(request)
    if active is not None:
        return active.csrf_token
    return request.cookies.get(PRE_SESSION_COOKIE)


async def check_csrf(request: Request) -> None:
    """Every state-changing form carries the session's CSRF token in `csrf_token` (the
    sign-in form, before a session exists, the `console_csrf` cookie's token)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    expected = _expected_csrf(request)
    try:
        sent = (await request.form()).get(CSRF_FIELD)
    except Exception as e:  # a malformed body is refused like a missing token
        raise CsrfRefused from e
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(
            sent.encode(), expected.encode()):
        log.warning("console.csrf_refused", path=request.url.path,
                    client=request.client.host if request.client else None)
        raise CsrfRefused


async def form_fields(request: Request, max_length: int = 4000) -> dict[str, str]:
    """The posted form's text fields, each cut to `max_length` (pages check lengths and show
    a form error; a file upload or a repeated field keeps only the first text value)."""
    fields: dict[str, str] = {}
    for name, value in (await request.form()).multi_items():
        if isinstance(value, str) and name not in fields:
            fields[name] = value[: max_length + 1]
    return fields


def language(request: Request) -> str:
    return console(request).translations.pick(request.cookies.get(LANG_COOKIE),
                                              request.headers.get("accept-language"))


def see_other(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def sign_in_url(next_path: str) -> str:
    return "/sign-in" + ("" if next_path == "/" else f"?next={quote(next_path, safe='/')}")


def cookie_options(request: Request) -> dict[str, Any]:
    return {"httponly": True, "samesite": "strict", "path": "/",
            "secure": console(request).settings.cookie_secure}


def render(request: Request, template: str, context: Mapping[str, Any],
           status_code: int = 200) -> HTMLResponse:
    """The page `template` with `context` plus: user, lang, t (translate), csrf_token, nav,
    languages, path and a notice named by `?notice=` (only a known `notice.*` key)."""
    ctx = console(request)
    active = current_session(request)
    lang = language(request)
    token = _expected_csrf(request)
    new_token = token is None
    if token is None:
        token = secrets.token_urlsafe(32)
    user = active.user if active is not None else None
    notice = request.query_params.get("notice", "")
    texts = ctx.translations.texts.get("en", {})
    full: dict[str, Any] = {
        "request": request, "user": user, "lang": lang,
        "t": partial(ctx.translations.text, lang), "csrf_token": token,
        "nav": [n for n in ctx.nav if user is not None and user.role in n.roles],
        "languages": ctx.translations.languages, "path": request.url.path,
        "notice": notice if notice.startswith("notice.") and notice in texts else None,
        "now": ctx.clock.now(), **context}
    html = ctx.templates.get_template(template).render(full)
    response = HTMLResponse(html, status_code=status_code)
    if new_token:
        response.set_cookie(PRE_SESSION_COOKIE, token, **cookie_options(request))
    return response


def _when(value: object, fmt: str = "%Y-%m-%d %H:%M:%S UTC") -> str:
    """An ISO time (or datetime) shown the same way on every page."""
    if value is None or value == "":
        return "-"
    try:
        at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return at.strftime(fmt)


def template_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("xroad.console", "templates"),
        autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = _when
    env.globals["quote"] = partial(quote, safe="")
    return env
