"""HTTP edge of the tax registry: routes, wire forms of errors, startup.

The security server calls this adapter over plain HTTP: X-Road SOAP on `POST /soap`, REST r1
paths under `/tax-status` and `/taxpayers`, with the client's identifier in `X-Road-Client`
(REST) or the `xrd:client` header (SOAP). Nothing here decides anything about taxpayers; it
turns requests into `service` calls and errors into what each protocol expects. No stack
trace ever reaches a client: unexpected errors become an anonymous 500 whose fault id is
only in the log.
"""

import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Annotated, Final

import structlog
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse, Response
from lxml import etree
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

import schemas
from adapters.tax import mapping, registry, seed, service
from adapters.tax.disclosure import FieldsByClient, client_from_header, disclosed_fields
from adapters.tax.settings import TaxRegistrySettings
from adapters.toolkit.errors import AdapterError, InvalidRequest, NotFound
from adapters.toolkit.http import read_body, soap_response
from adapters.toolkit.soap import SOAP_CONTENT_TYPE, build_fault, build_response, parse_request
from xroad.errors import InvalidMessage, InvalidSoap
from xroad.limits import Limits

SOAP_PATH: Final = "/soap"
WSDL_FILE: Final = ("tax", "tax-registry.wsdl")
_log: Final = structlog.get_logger(__name__)

XRoadClient = Annotated[
    str | None,
    Header(
        alias="X-Road-Client",
        description="The calling subsystem, set by the security server; decides which "
        "fields are disclosed.",
    ),
]


def _error_json(status_code: int, kind: str, message: str) -> JSONResponse:
    body = mapping.ErrorBody(type=kind, message=message)
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
    return _error_json(status, code, str(exc))


async def _internal_error(request: Request, exc: Exception) -> Response:
    """Last resort: log the cause under a fault id, tell the client only that id."""
    fault_id = str(uuid.uuid4())
    _log.error("internal_error", fault_id=fault_id, path=request.url.path, exc_info=exc)
    if request.url.path == SOAP_PATH:
        return soap_response(build_fault("Server", "internal error", fault_id=fault_id), fault=True)
    return _error_json(500, "InternalError", f"internal error (fault id {fault_id})")


def _fault(code: str, error: Exception, headers: Iterable[etree._Element] = ()) -> bytes:
    fault_id = str(uuid.uuid4())
    _log.info("soap.fault", fault_id=fault_id, code=code, reason=str(error))
    return build_fault(code, str(error), fault_id=fault_id, headers=headers)


def _answer(
    sessions: sessionmaker[Session], limits: Limits, policy: FieldsByClient, body: bytes
) -> tuple[bytes, bool]:
    """The SOAP answer to `body`, and whether it is a fault; echoes headers once parsed."""
    try:
        request = parse_request(body, limits)
    except InvalidMessage as e:
        return _fault("Client", e), True
    try:
        with sessions() as session:
            wrapper = service.answer_soap(session, request, policy)
            return build_response(request, wrapper), False
    except InvalidMessage as e:
        return _fault("Client", e, request.headers), True
    except AdapterError as e:
        origin = "Client" if isinstance(e, InvalidRequest) else "Server"
        return _fault(f"{origin}.{e.code}", e, request.headers), True


def _add_soap_routes(
    app: FastAPI, sessions: sessionmaker[Session], limits: Limits, policy: FieldsByClient
) -> None:
    @app.post(SOAP_PATH, response_class=Response, summary="X-Road SOAP: getTaxStatus, getTaxpayer")
    async def soap(request: Request) -> Response:
        if request.headers.get("content-type", "").lower().startswith("multipart/"):
            error = InvalidSoap("SOAP attachments are not supported by this service")
            return soap_response(_fault("Client", error), fault=True)
        try:
            body = await read_body(request, limits.max_xml_bytes)
        except InvalidMessage as e:
            return soap_response(_fault("Client", e), fault=True)
        envelope, fault = await run_in_threadpool(_answer, sessions, limits, policy, body)
        return soap_response(envelope, fault=fault)

    wsdl = schemas.path(*WSDL_FILE).read_bytes()

    @app.get("/wsdl", response_class=Response, summary="WSDL of the SOAP services")
    def get_wsdl() -> Response:
        return Response(wsdl, media_type=SOAP_CONTENT_TYPE)


def _add_rest_routes(app: FastAPI, sessions: sessionmaker[Session], policy: FieldsByClient) -> None:
    def errors(malformed: str) -> dict[int | str, dict[str, object]]:
        return {
            400: {"model": mapping.ErrorBody, "description": malformed},
            404: {"model": mapping.ErrorBody, "description": "no such taxpayer"},
        }

    @app.get(
        "/tax-status/{register_number}",
        responses=errors("malformed register number or X-Road-Client"),
        response_model_exclude_unset=True,
        summary="REST service tax-status: this year's taxes of a person",
    )
    def get_tax_status(
        register_number: str, x_road_client: XRoadClient = None
    ) -> mapping.TaxStatus:
        fields = disclosed_fields(policy, client_from_header(x_road_client))
        with sessions() as session:
            return mapping.tax_status(service.get_tax_status(session, register_number), fields)

    @app.get(
        "/taxpayers/{tin}",
        responses=errors("malformed TIN or X-Road-Client"),
        response_model_exclude_unset=True,
        summary="REST service taxpayers: a taxpayer's registration by TIN",
    )
    def get_taxpayer(tin: str, x_road_client: XRoadClient = None) -> mapping.TaxpayerRecord:
        fields = disclosed_fields(policy, client_from_header(x_road_client))
        with sessions() as session:
            return mapping.taxpayer_record(service.get_taxpayer(session, tin), fields)

    @app.get("/health", summary="Liveness")
    def health() -> dict[str, str]:
        return {"status": "ok"}


def create_app(settings: TaxRegistrySettings) -> FastAPI:
    """The tax registry adapter, with its database created and seeded on first start."""
    engine = registry.connect(settings.database_url)
    registry.create_schema(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    with sessions.begin() as session:
        if seed.seed_if_empty(session):
            _log.info("tax_registry.seeded", taxpayers=registry.count_taxpayers(session))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="Tax registry (Mongolian Tax Administration)",
        summary="X-Road subsystem MN/GOV/MTA/tax-registry",
        version="1.0.0",
        lifespan=lifespan,
    )
    app.add_exception_handler(AdapterError, _adapter_error)
    app.add_exception_handler(Exception, _internal_error)
    policy = settings.fields_by_client
    _add_soap_routes(app, sessions, Limits(max_xml_bytes=settings.max_soap_bytes), policy)
    _add_rest_routes(app, sessions, policy)
    return app


def from_environment() -> FastAPI:
    """`uvicorn --factory adapters.tax.app:from_environment`: settings from `XROAD_TAX_*`."""
    return create_app(TaxRegistrySettings())  # type: ignore[call-arg]  # pydantic fills fields


def run(host: str = "127.0.0.1", port: int = 9004) -> None:
    """Serve the registry in the foreground (`xroad serve adapter tax`)."""
    import uvicorn  # noqa: PLC0415  # only the process that serves needs it

    uvicorn.run(from_environment(), host=host, port=port, log_level="warning", access_log=False)
