"""HTTP edge of the land registry: routes, wire forms of errors, startup.

The security server calls this adapter over plain HTTP: X-Road SOAP on `POST /soap`, REST r1
paths under `/parcels`. Nothing here decides anything about parcels; it turns requests into
`service` calls and errors into what each protocol expects. No stack trace ever reaches a
client: unexpected errors become an anonymous 500 whose fault id is only in the log.
"""

import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Annotated, Final

import structlog
from fastapi import FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from lxml import etree
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

import schemas
from adapters.land import mapping, registry, seed, service
from adapters.land.disclosure import DisclosurePolicy, ParcelField, load_rules
from adapters.land.settings import LandRegistrySettings
from adapters.toolkit.errors import AdapterError, InvalidRequest, NotFound
from adapters.toolkit.http import read_body, soap_response
from adapters.toolkit.soap import SOAP_CONTENT_TYPE, build_fault, build_response, parse_request
from xroad.errors import InvalidClientIdentifier, InvalidMessage, InvalidSoap
from xroad.identifiers import ClientId
from xroad.limits import Limits

SOAP_PATH: Final = "/soap"
WSDL_FILE: Final = ("land", "land-registry.wsdl")
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


async def _validation_error(_: Request, exc: Exception) -> Response:
    """FastAPI's own parameter checks, in this registry's 400 form rather than a 422."""
    return _error_json(400, InvalidRequest.code, f"invalid request: {exc}"[:500])


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
    sessions: sessionmaker[Session], limits: Limits, policy: DisclosurePolicy, body: bytes
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
    app: FastAPI, sessions: sessionmaker[Session], limits: Limits, policy: DisclosurePolicy
) -> None:
    summary = "X-Road SOAP: getParcelsByOwner, getParcel"

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


XRoadClient = Annotated[str | None, Header(alias="X-Road-Client", include_in_schema=False)]
XRoadIssue = Annotated[str | None, Header(alias="X-Road-Issue", include_in_schema=False)]


def _utf8(header_value: str) -> str:
    """A header value as the client wrote it: HTTP frameworks decode header bytes as Latin-1,
    but a purpose is stated in Mongolian, sent as UTF-8 bytes."""
    try:
        return header_value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return header_value


def _rest_fields(
    policy: DisclosurePolicy, client: str | None, issue: str | None
) -> frozenset[ParcelField]:
    """The fields the client the security server names receives for its stated purpose."""
    if issue is not None:
        issue = _utf8(issue)
    if client is not None:
        try:
            client = str(ClientId.parse(client))
        except InvalidClientIdentifier as e:
            raise InvalidRequest(f"malformed X-Road-Client header: {e}") from e
    return policy.fields_for(client, issue)


def _add_rest_routes(
    app: FastAPI, sessions: sessionmaker[Session], policy: DisclosurePolicy
) -> None:
    errors: dict[int | str, dict[str, object]] = {
        400: {"model": mapping.ErrorBody, "description": "malformed register number or parcel id"},
    }
    not_found: dict[int | str, dict[str, object]] = {
        **errors,
        404: {"model": mapping.ErrorBody, "description": "no such parcel"},
    }

    @app.get("/parcels", responses=errors, response_model_exclude_unset=True,
             summary="REST service parcels: the parcels a person owns or co-owns")
    def get_parcels_by_owner(
        client: XRoadClient = None,
        issue: XRoadIssue = None,
        owner: Annotated[str | None, Query(description="register number, e.g. УБ99112233")] = None,
    ) -> mapping.OwnerParcels:
        if owner is None:
            raise InvalidRequest("parcels needs the query parameter owner={registerNumber}")
        fields = _rest_fields(policy, client, issue)
        with sessions() as session:
            return mapping.owner_parcels(owner, service.parcels_of(session, owner), fields)

    @app.get("/parcels/{parcel_id}", responses=not_found, response_model_exclude_unset=True,
             summary="A parcel by its id")
    def get_parcel(
        parcel_id: str, client: XRoadClient = None, issue: XRoadIssue = None
    ) -> mapping.ParcelRecord:
        fields = _rest_fields(policy, client, issue)
        with sessions() as session:
            return mapping.parcel_record(service.get_parcel(session, parcel_id), fields)

    @app.get("/health", summary="Liveness")
    def health() -> dict[str, str]:
        return {"status": "ok"}


def disclosure_policy(settings: LandRegistrySettings) -> DisclosurePolicy:
    """The rules of the settings' file, then those given directly; a duplicate is an error."""
    from_file = load_rules(settings.disclosure_file) if settings.disclosure_file else ()
    return DisclosurePolicy((*from_file, *settings.disclosure_rules))


def create_app(settings: LandRegistrySettings) -> FastAPI:
    """The land registry adapter, with its database created and seeded on first start."""
    policy = disclosure_policy(settings)
    engine = registry.connect(settings.database_url)
    registry.create_schema(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    with sessions.begin() as session:
        if seed.seed_if_empty(session):
            _log.info("land_registry.seeded", parcels=registry.count_parcels(session))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="Land registry (Agency for Land Administration and Management, Geodesy and "
        "Cartography)",
        summary="X-Road subsystem MN/GOV/ALAMGAC/land-registry",
        version="1.0.0",
        lifespan=lifespan,
    )
    app.add_exception_handler(AdapterError, _adapter_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _internal_error)
    _add_soap_routes(app, sessions, Limits(max_xml_bytes=settings.max_soap_bytes), policy)
    _add_rest_routes(app, sessions, policy)
    return app


def from_environment() -> FastAPI:
    """`uvicorn --factory adapters.land.app:from_environment`: settings from `XROAD_LAND_*`."""
    return create_app(LandRegistrySettings())  # type: ignore[call-arg]  # pydantic fills fields


def run(host: str = "127.0.0.1", port: int = 9002) -> None:
    """Serve the adapter in the foreground (`xroad serve adapter land`); logging is the caller's."""
    import uvicorn  # noqa: PLC0415  # only the server process needs it

    uvicorn.run(from_environment(), host=host, port=port, log_level="warning", access_log=False)
