"""HTTP edge of the land registry: routes, wire forms of errors, startup.

The security server calls this adapter over plain HTTP: X-Road SOAP on `POST /soap`, REST r1
paths under `/parcels`. Nothing here decides anything about parcels; it turns requests into
`service` calls and errors into what each protocol expects. No stack trace ever reaches a
client: unexpected errors become an anonymous 500 whose fault id is only in the log.
"""

from functools import partial
from typing import Annotated, Final

from fastapi import FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.orm import Session, sessionmaker

import schemas
from adapters.land import mapping, registry, seed, service
from adapters.land.disclosure import DisclosurePolicy, DisclosureRule, ParcelField
from adapters.land.settings import LandRegistrySettings
from adapters.toolkit.app import build_registry_app, error_json, serve
from adapters.toolkit.clients import client_from_header, purpose_from_header
from adapters.toolkit.disclosure import configured_rules
from adapters.toolkit.errors import ErrorBody, InvalidRequest

WSDL_FILE: Final = ("land", "land-registry.wsdl")


async def _validation_error(_: Request, exc: Exception) -> Response:
    """FastAPI's own parameter checks, in this registry's 400 form rather than a 422."""
    return error_json(400, InvalidRequest.code, f"invalid request: {exc}"[:500])


XRoadClient = Annotated[str | None, Header(alias="X-Road-Client", include_in_schema=False)]
XRoadIssue = Annotated[str | None, Header(alias="X-Road-Issue", include_in_schema=False)]


def _rest_fields(
    policy: DisclosurePolicy, client: str | None, issue: str | None
) -> frozenset[ParcelField]:
    """The fields the client the security server names receives for its stated purpose."""
    return policy.fields_for(client_from_header(client), purpose_from_header(issue))


def _add_rest_routes(
    app: FastAPI, sessions: sessionmaker[Session], policy: DisclosurePolicy
) -> None:
    errors: dict[int | str, dict[str, object]] = {
        400: {"model": ErrorBody, "description": "malformed register number or parcel id"},
    }
    not_found: dict[int | str, dict[str, object]] = {
        **errors,
        404: {"model": ErrorBody, "description": "no such parcel"},
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


def disclosure_policy(settings: LandRegistrySettings) -> DisclosurePolicy:
    """The rules of the settings' file, then those given directly; a duplicate is an error."""
    return DisclosurePolicy(
        configured_rules(DisclosureRule, settings.disclosure_file, settings.disclosure_rules)
    )


def create_app(settings: LandRegistrySettings) -> FastAPI:
    """The land registry adapter, with its database created and seeded on first start."""
    policy = disclosure_policy(settings)
    app, sessions = build_registry_app(
        settings,
        title="Land registry (Agency for Land Administration and Management, Geodesy and "
        "Cartography)",
        subsystem="MN/GOV/ALAMGAC/land-registry",
        metadata=registry.Base.metadata,
        seed_if_empty=seed.seed_if_empty,
        soap_service=partial(service.answer_soap, policy=policy),
        soap_codes=service.SOAP_SERVICES,
        wsdl=schemas.path(*WSDL_FILE).read_bytes(),
    )
    app.add_exception_handler(RequestValidationError, _validation_error)
    _add_rest_routes(app, sessions, policy)
    return app


def from_environment() -> FastAPI:
    """`uvicorn --factory adapters.land.app:from_environment`: settings from `XROAD_LAND_*`."""
    return create_app(LandRegistrySettings())  # type: ignore[call-arg]  # pydantic fills fields


def run(host: str = "127.0.0.1", port: int = 9002) -> None:
    """Serve the adapter in the foreground (`xroad serve adapter land`); logging is the caller's."""
    serve(from_environment(), host, port)
