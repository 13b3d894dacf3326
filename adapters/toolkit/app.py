"""The HTTP edge every registry adapter shares: wire forms of errors, the SOAP endpoint, startup.

Registries differ in their routes and services, not in how an error looks on the wire: a
registry error is JSON with 400 or 404 for REST and a `Client.*`/`Server.*` SOAP fault; an
unexpected error is an anonymous 500 whose fault id is only in the log, so no stack trace
ever reaches a client.
"""

import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Final

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from lxml import etree
from sqlalchemy import Engine, MetaData
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from adapters.toolkit.database import open_registry
from adapters.toolkit.errors import AdapterError, ErrorBody, InvalidRequest, NotFound
from adapters.toolkit.http import read_body, soap_response
from adapters.toolkit.settings import RegistrySettings
from adapters.toolkit.soap import (
    SOAP_CONTENT_TYPE,
    SoapRequest,
    build_fault,
    build_response,
    parse_request,
)
from xroad.errors import InvalidMessage, InvalidSoap
from xroad.limits import Limits

SOAP_PATH: Final = "/soap"
_log: Final = structlog.get_logger(__name__)

SoapService = Callable[[Session, SoapRequest], etree._Element]
"""A registry's SOAP services: the response wrapper for a parsed request."""


def error_json(status_code: int, kind: str, message: str) -> JSONResponse:
    """A registry error as REST clients see it."""
    body = ErrorBody(type=kind, message=message)
    return JSONResponse(body.model_dump(), status_code=status_code)


async def _adapter_error(_: Request, exc: Exception) -> Response:
    """REST form of a registry error: 400 for the client's mistakes, 404 for unknown records."""
    code = exc.code if isinstance(exc, AdapterError) else AdapterError.code
    if isinstance(exc, InvalidRequest):
        status = 400
    elif isinstance(exc, NotFound):
        status = 404
    else:
        status = 500
    return error_json(status, code, str(exc))


async def _internal_error(request: Request, exc: Exception) -> Response:
    """Last resort: log the cause under a fault id, tell the client only that id."""
    fault_id = str(uuid.uuid4())
    _log.error("internal_error", fault_id=fault_id, path=request.url.path, exc_info=exc)
    if request.url.path == SOAP_PATH:
        return soap_response(build_fault("Server", "internal error", fault_id=fault_id), fault=True)
    return error_json(500, "InternalError", f"internal error (fault id {fault_id})")


def _fault(code: str, error: Exception, headers: Iterable[etree._Element] = ()) -> bytes:
    fault_id = str(uuid.uuid4())
    _log.info("soap.fault", fault_id=fault_id, code=code, reason=str(error))
    return build_fault(code, str(error), fault_id=fault_id, headers=headers)


def answer_soap(
    sessions: sessionmaker[Session], limits: Limits, service: SoapService, body: bytes
) -> tuple[bytes, bool]:
    """The SOAP answer to `body`, and whether it is a fault; echoes headers once parsed."""
    try:
        request = parse_request(body, limits)
    except InvalidMessage as e:
        return _fault("Client", e), True
    try:
        with sessions() as session:
            return build_response(request, service(session, request)), False
    except InvalidMessage as e:
        return _fault("Client", e, request.headers), True
    except AdapterError as e:
        origin = "Client" if isinstance(e, InvalidRequest) else "Server"
        return _fault(f"{origin}.{e.code}", e, request.headers), True


def add_soap_routes(  # each is one thing a registry must say
    app: FastAPI,
    sessions: sessionmaker[Session],
    limits: Limits,
    service: SoapService,
    *,
    summary: str,
    wsdl: bytes,
) -> None:
    """`POST /soap` answering with `service`, and `GET /wsdl` publishing `wsdl`."""

    @app.post(SOAP_PATH, response_class=Response, summary=summary)
    async def soap(request: Request) -> Response:
        if request.headers.get("content-type", "").lower().startswith("multipart/"):
            error = InvalidSoap("SOAP attachments are not supported by this service")
            return soap_response(_fault("Client", error), fault=True)
        try:
            body = await read_body(request, limits.max_xml_bytes)
        except InvalidMessage as e:
            return soap_response(_fault("Client", e), fault=True)
        envelope, fault = await run_in_threadpool(answer_soap, sessions, limits, service, body)
        return soap_response(envelope, fault=fault)

    @app.get("/wsdl", response_class=Response, summary="WSDL of the SOAP services")
    def get_wsdl() -> Response:
        return Response(wsdl, media_type=SOAP_CONTENT_TYPE)


def add_health_route(app: FastAPI) -> None:
    """`GET /health`, for the demo's readiness checks."""

    @app.get("/health", summary="Liveness")
    def health() -> dict[str, str]:
        return {"status": "ok"}


def registry_app(*, title: str, summary: str, engine: Engine) -> FastAPI:
    """A FastAPI app that disposes `engine` on shutdown, answers errors in the shared forms
    and has `GET /health`."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(title=title, summary=summary, version="1.0.0", lifespan=lifespan)
    app.add_exception_handler(AdapterError, _adapter_error)
    app.add_exception_handler(Exception, _internal_error)
    add_health_route(app)
    return app


def build_registry_app(  # each is one thing a registry must say
    settings: RegistrySettings,
    *,
    title: str,
    subsystem: str,
    metadata: MetaData,
    seed_if_empty: Callable[[Session], bool],
    soap_service: SoapService,
    soap_codes: Iterable[str],
    wsdl: bytes,
) -> tuple[FastAPI, sessionmaker[Session]]:
    """A registry adapter but for its REST routes: database created and seeded on first start,
    `POST /soap` answering with `soap_service`, `GET /wsdl`, `GET /health`, the error forms.

    Returns the sessions too, for the registry's REST routes.
    """
    engine, sessions = open_registry(
        settings.database_url, metadata, seed_if_empty, name=subsystem
    )
    app = registry_app(title=title, summary=f"X-Road subsystem {subsystem}", engine=engine)
    limits = Limits(max_xml_bytes=settings.max_soap_bytes)
    summary = f"X-Road SOAP: {', '.join(soap_codes)}"
    add_soap_routes(app, sessions, limits, soap_service, summary=summary, wsdl=wsdl)
    return app, sessions


def serve(app: FastAPI, host: str, port: int) -> None:
    """Serve `app` in the foreground until interrupted; logging is the caller's."""
    import uvicorn  # noqa: PLC0415  # only the process that serves needs the server

    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
