"""HTTP edge of the vehicle registry: routes, wire forms of errors, startup.

The security server calls this adapter over plain HTTP: X-Road SOAP on `POST /soap`, REST r1
paths under `/vehicles`. Nothing here decides anything about vehicles; it turns requests into
`service` calls and errors into what each protocol expects. No stack trace ever reaches a
client: unexpected errors become an anonymous 500 whose fault id is only in the log.
"""

from functools import partial
from typing import Annotated, Final

from fastapi import FastAPI, Header, Query
from sqlalchemy.orm import Session, sessionmaker

import schemas
from adapters.toolkit.app import build_registry_app, serve
from adapters.toolkit.clients import CLIENT_HEADER, client_from_header
from adapters.toolkit.errors import ErrorBody, InvalidRequest
from adapters.vehicle import mapping, registry, seed, service
from adapters.vehicle.disclosure import FieldPolicy
from adapters.vehicle.settings import VehicleRegistrySettings

WSDL_FILE: Final = ("vehicle", "vehicle-registry.wsdl")


def _add_rest_routes(app: FastAPI, sessions: sessionmaker[Session], policy: FieldPolicy) -> None:
    client_header = Header(
        alias=CLIENT_HEADER, description="set by the security server; selects disclosed fields"
    )
    owner_query = Query(description="the owner's register number, e.g. УБ99112233")

    @app.get(
        "/vehicles",
        responses={400: {"model": ErrorBody, "description": "malformed register number"}},
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
            400: {"model": ErrorBody, "description": "malformed plate number"},
            404: {"model": ErrorBody, "description": "no such vehicle"},
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


def create_app(settings: VehicleRegistrySettings) -> FastAPI:
    """The vehicle registry adapter, with its database created and seeded on first start."""
    policy = settings.field_policy()
    app, sessions = build_registry_app(
        settings,
        title="Vehicle registry (Road Transport Development Centre)",
        subsystem="MN/GOV/RTDC/vehicle-registry",
        metadata=registry.Base.metadata,
        seed_if_empty=seed.seed_if_empty,
        soap_service=partial(service.answer_soap, policy=policy),
        soap_codes=service.SOAP_SERVICES,
        wsdl=schemas.path(*WSDL_FILE).read_bytes(),
    )
    _add_rest_routes(app, sessions, policy)
    return app


def from_environment() -> FastAPI:
    """`uvicorn --factory adapters.vehicle.app:from_environment`: `XROAD_VEHICLE_*` settings."""
    return create_app(VehicleRegistrySettings())  # type: ignore[call-arg]  # pydantic fills fields


def run(host: str = "127.0.0.1", port: int = 9003) -> None:
    """`xroad serve adapter vehicle`: serve in the foreground until interrupted."""
    serve(from_environment(), host, port)
