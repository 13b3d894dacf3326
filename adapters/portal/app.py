"""HTTP edge of the citizen portal (`MN/GOV/EMONGOLIA/portal`): the JSON API and the pages.

`GET /api/profile/{registerNumber}` answers 200 with whatever the registries gave, even
partially (each missing section says why), 400 for a malformed register number (the bus is
not asked), 404 when the civil registry knows no such person. No stack trace reaches a
client: an unexpected error is a 500 whose fault id is only in the log.
"""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

import httpx
import structlog
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from adapters.portal.bus import Bus
from adapters.portal.pages import add_page_routes, error_page, templates
from adapters.portal.profile import PersonNotFound, checked_user_id, compose_profile
from adapters.portal.settings import PortalSettings
from adapters.toolkit.app import add_health_route, error_json
from adapters.toolkit.errors import ErrorBody, InvalidRequest
from xroad.identifiers import ClientId

_log: Final = structlog.get_logger(__name__)


class ProfileBody(BaseModel):
    """The API's answer (documentation; keys of the maps are civil, land, vehicle, tax)."""

    model_config = ConfigDict(frozen=True)

    register_number: str
    person: dict[str, Any] | None  # None: see errors["civil"]
    parcels: list[dict[str, Any]] | None
    vehicles: list[dict[str, Any]] | None
    tax: dict[str, Any] | None
    complete: bool  # every registry answered
    status: dict[str, str]  # ok, timeout, refused, failed, unreadable, unreachable
    errors: dict[str, str]  # a message for people, per registry that did not answer
    request_ids: dict[str, str | None]  # X-Road-Request-Id, for the auditor API
    message_ids: dict[str, str]  # X-Road-Id sent, also in both audit logs
    purpose: str  # X-Road-Issue sent with every request


class PersonNotFoundBody(ErrorBody):
    request_ids: dict[str, str | None]
    message_ids: dict[str, str]


def _add_api_routes(app: FastAPI, settings: PortalSettings, bus: Bus) -> None:
    errors: dict[int | str, dict[str, Any]] = {
        400: {"model": ErrorBody, "description": "malformed register number or user id"},
        404: {"model": PersonNotFoundBody, "description": "the civil registry knows no such "
                                                         "person"},
    }

    @app.get("/api/profile/{register_number}", response_model=ProfileBody, responses=errors,
             summary="A citizen's profile from the four registries, through the bus")
    async def get_profile(register_number: str,
                          user_id: str | None = Header(default=None, alias="X-Road-UserId"),
                          ) -> Response:
        try:
            profile = await compose_profile(bus, settings, register_number,
                                            checked_user_id(user_id))
        except PersonNotFound as e:
            ids = e.profile.to_json()
            body = PersonNotFoundBody(type="PersonNotFound", message=str(e),
                                      request_ids=ids["request_ids"],
                                      message_ids=ids["message_ids"])
            return JSONResponse(body.model_dump(), status_code=404)
        return JSONResponse(profile.to_json())


def create_app(settings: PortalSettings,
               transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """The portal; `transport` replaces the network in tests (`httpx.MockTransport`)."""
    bus = Bus(settings.security_server_url, ClientId.parse(settings.client), transport)
    env = templates()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await bus.aclose()

    app = FastAPI(title="e-Mongolia citizen portal",
                  summary=f"X-Road client {settings.client}: a citizen's profile from the "
                          "civil, land, vehicle and tax registries", version="1.0.0",
                  lifespan=lifespan)

    async def invalid_request(request: Request, exc: Exception) -> Response:
        code = exc.code if isinstance(exc, InvalidRequest) else InvalidRequest.code
        if request.url.path.startswith("/api/"):
            return error_json(400, code, str(exc))
        return error_page(env, 400, "Хүсэлт буруу", "Хүсэлт буруу байна.", str(exc))

    async def internal_error(request: Request, exc: Exception) -> Response:
        fault_id = str(uuid.uuid4())
        _log.error("internal_error", fault_id=fault_id, path=request.url.path, exc_info=exc)
        if request.url.path.startswith("/api/"):
            return error_json(500, "InternalError", f"internal error (fault id {fault_id})")
        return error_page(env, 500, "Алдаа гарлаа",
                          f"Порталд алдаа гарлаа (алдааны дугаар {fault_id}).")

    app.add_exception_handler(InvalidRequest, invalid_request)
    app.add_exception_handler(Exception, internal_error)
    _add_api_routes(app, settings, bus)
    add_page_routes(app, settings, bus, env)
    add_health_route(app)
    return app


def from_environment() -> FastAPI:
    """`uvicorn --factory adapters.portal.app:from_environment`: `XROAD_PORTAL_*` settings."""
    return create_app(PortalSettings())
