"""The portal's pages for people: server-rendered HTML in Mongolian, without JavaScript.

Everything a page needs is in the HTML itself (no CDN, no script), so it works in any browser
and with screen readers: a search form, the four sections of a profile, a message in each
section that could not be filled, and the request ids an auditor needs.
"""

from typing import Any, Final
from urllib.parse import quote

from fastapi import FastAPI, Header
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import ChainableUndefined, Environment, PackageLoader, select_autoescape

from adapters.portal.bus import Bus
from adapters.portal.profile import VIEWS, PersonNotFound, checked_user_id, compose_profile
from adapters.portal.settings import PortalSettings
from adapters.toolkit.errors import InvalidRequest

# Registry codes the registries answer with, as a citizen reads them.
WORDS: Final = {
    "male": "эрэгтэй", "female": "эмэгтэй", "alive": "амьд", "deceased": "нас барсан",
    "residential": "гэр бүлийн хэрэгцээний", "agricultural": "тариалангийн",
    "commercial": "худалдаа, үйлчилгээний", "pasture": "бэлчээр, өвөлжөө",
    "passed": "тэнцсэн", "failed": "тэнцээгүй", "valid": "хүчинтэй",
    "expired": "хугацаа дууссан", "cancelled": "цуцлагдсан", "active": "идэвхтэй",
    "suspended": "түдгэлзүүлсэн",
}


def _mn(value: Any) -> Any:
    return WORDS.get(value, value) if isinstance(value, str) else value


def _mnt(value: Any) -> str:
    """Tögrög with thin spaces between thousands; a withheld amount as a dash."""
    if not isinstance(value, int):
        return "—"
    return f"{value:,}".replace(",", "\u202f") + " ₮"


def templates() -> Environment:
    """The installed templates (`adapters/portal/templates/`), HTML-escaped."""
    env = Environment(loader=PackageLoader("adapters.portal", "templates"),
                      autoescape=select_autoescape(["html"]), undefined=ChainableUndefined)
    env.filters["mn"] = _mn
    env.filters["mnt"] = _mnt
    return env


def render(env: Environment, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(env.get_template(name).render(**context), status_code=status_code)


def error_page(env: Environment, status_code: int, title: str, error: str,
               detail: str = "", entered: str = "") -> HTMLResponse:
    return render(env, "error.html", status_code, title=title, error=error, detail=detail,
                  entered=entered)


def add_page_routes(app: FastAPI, settings: PortalSettings, bus: Bus,
                    env: Environment) -> None:
    """`GET /`, `GET /profile?register_number=` (the form) and `GET /profile/{number}`."""
    names = {registry: view.name_mn for registry, view in VIEWS.items()}

    @app.get("/", response_class=HTMLResponse, summary="The search page", tags=["pages"])
    def index() -> HTMLResponse:
        return render(env, "index.html", error="", detail="", entered="")

    @app.get("/profile", response_class=Response, summary="The search form's target",
             tags=["pages"])
    def search(register_number: str = "") -> Response:
        number = register_number.strip().upper()[:50]  # a register number has 10 characters
        if not number:
            return error_page(env, 400, "Регистрийн дугаар оруулна уу",
                              "Регистрийн дугаар хоосон байна.")
        return RedirectResponse(f"/profile/{quote(number, safe='')}", status_code=303)

    @app.get("/profile/{register_number}", response_class=HTMLResponse,
             summary="A citizen's profile, for people", tags=["pages"])
    async def profile_page(register_number: str,
                           user_id: str | None = Header(default=None, alias="X-Road-UserId"),
                           ) -> HTMLResponse:
        user = checked_user_id(user_id)  # a bad one is the app's generic 400 page
        try:
            profile = await compose_profile(bus, settings, register_number, user)
        except InvalidRequest as e:
            return error_page(env, 400, "Регистрийн дугаар буруу",
                              "Регистрийн дугаар нь хоёр кирилл үсэг, найман цифрээс "
                              "бүрдэх ба төрсөн огноо нь зөв байх ёстой.", str(e),
                              register_number[:20])
        except PersonNotFound as e:
            return error_page(env, 404, "Иргэн олдсонгүй",
                              f"Иргэний бүртгэлд {register_number} дугаартай иргэн "
                              "бүртгэлгүй байна.", str(e), register_number)
        return render(env, "profile.html", profile=profile, names=names, error="",
                      detail="", entered="")
