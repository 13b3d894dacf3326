"""HTTP edge of the vehicle registry: routes, wire forms of errors, startup.

The security server calls this adapter over plain HTTP: X-Road SOAP on `POST /soap`, REST r1
paths under `/vehicles`. Nothing here decides anything about vehicles; it turns requests into
`service` calls and errors into what each protocol expects. No stack trace ever reaches a
client: unexpected errors become an anonymous 500 whose fault id is only in the log.
"""

import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Annotated, Final

import structlog
from fastapi import FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from lxml import etree
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

import schemas
from adapters.toolkit.errors import AdapterError, InvalidRequest, NotFound
from adapters.toolkit.http import read_body, soap_response
from adapters.toolkit.soap import SOAP_CONTENT_TYPE, build_fault, build_response, parse_request
from adapters.vehicle import mapping, registry, seed, service
from adapters.vehicle.disclosure import CLIENT_HEADER, FieldPolicy, client_from_header
from adapters.vehicle.settings import VehicleRegistrySettings
from xroad.errors import InvalidMessage, InvalidSoap
from xroad.limits import Limits

SOAP_PATH: Final = "/soap"
WSDL_FILE: Final = ("vehicle", "vehicle-registry.wsdl")
_log: Final = structlog.get_logger(__name__)


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
    sessions: sessionmaker[Session], limits: Limits, policy: FieldPolicy, body: bytes
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
    app: FastAPI, sessions: sessionmaker[Session], limits: Limits, policy: FieldPolicy
) -> None:
    summary = "X-Road SOAP: getVehiclesByOwner, getVehicleByPlate"

    @app.post(SOAP_PATH, response_class=Response, summary=summary)
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


def _add_rest_routes(app: FastAPI, sessions: sessionmaker[Session], policy: FieldPolicy) -> None:
    client_header = Header(
        alias=CLIENT_HEADER, description="set by the security server; selects disclosed fields"
    )
    owner_query = Query(description="the owner's register number, e.g. УБ99112233")

    @app.get(
        "/vehicles",
        responses={400: {"model": mapping.ErrorBody, "description": "malformed register number"}},
        response_model_exclude_unset=True,
        summary="REST service vehicles: the vehicles of an owner",
    )
    def get_vehicles_by_owner(
        owner: Annotated[str | None, owner_query] = None,
        x_road_client: Annotated[str | None, client_header] = None,
    ) -> mapping.OwnerVehicles:
        if owner is None:
            raise InvalidRequest("the query needs owner={registerNumber}")
        fields = policy.fields_for(client_from_header(x_road_client))
        with sessions() as session:
            vehicles = service.get_vehicles_by_owner(session, owner)
            return mapping.owner_vehicles(owner, vehicles, fields)

    @app.get(
        "/vehicles/{plate_number}",
        responses={
            400: {"model": mapping.ErrorBody, "description": "malformed plate number"},
            404: {"model": mapping.ErrorBody, "description": "no such vehicle"},
        },
        response_model_exclude_unset=True,
        summary="A vehicle by plate number (URL-encoded, e.g. 1234%D0%A3%D0%91%D0%90)",
    )
    def get_vehicle_by_plate(
        plate_number: str, x_road_client: Annotated[str | None, client_header] = None
    ) -> mapping.VehicleRecord:
        fields = policy.fields_for(client_from_header(x_road_client))
        with sessions() as session:
            vehicle = service.get_vehicle_by_plate(session, plate_number)
            return mapping.vehicle_record(vehicle, fields)

    @app.get("/health", summary="Liveness")
    def health() -> dict[str, str]:
        return {"status": "ok"}


def create_app(settings: VehicleRegistrySettings) -> FastAPI:
    """The vehicle registry adapter, with its database created and seeded on first start."""
    engine = registry.connect(settings.database_url)
    registry.create_schema(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    with sessions.begin() as session:
        if seed.seed_if_empty(session):
            _log.info("vehicle_registry.seeded", vehicles=registry.count_vehicles(session))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="Vehicle registry (Road Transport Development Centre)",
        summary="X-Road subsystem MN/GOV/RTDC/vehicle-registry",
        version="1.0.0",
        lifespan=lifespan,
    )
    app.add_exception_handler(AdapterError, _adapter_error)
    app.add_exception_handler(Exception, _internal_error)
    policy = settings.field_policy()
    _add_soap_routes(app, sessions, Limits(max_xml_bytes=settings.max_soap_bytes), policy)
    _add_rest_routes(app, sessions, policy)
    return app


def from_environment() -> FastAPI:
    """`uvicorn --factory adapters.vehicle.app:from_environment`: `XROAD_VEHICLE_*` settings."""
    return create_app(VehicleRegistrySettings())  # type: ignore[call-arg]  # pydantic fills fields


def run(host: str = "127.0.0.1", port: int = 9003) -> None:
    """`xroad serve adapter vehicle`: serve in the foreground until interrupted."""
    import uvicorn  # noqa: PLC0415  # only the foreground command needs the server

    uvicorn.run(from_environment(), host=host, port=port, log_level="warning", access_log=False)
