"""HTTP edge of the tax registry: routes, wire forms of errors, startup.

The security server calls this adapter over plain HTTP: X-Road SOAP on `POST /soap`, REST r1
paths under `/tax-status` and `/taxpayers`, with the client's identifier in `X-Road-Client`
(REST) or the `xrd:client` header (SOAP). Nothing here decides anything about taxpayers; it
turns requests into `service` calls and errors into what each protocol expects. No stack
trace ever reaches a client: unexpected errors become an anonymous 500 whose fault id is
only in the log.
"""

from functools import partial
from typing import Annotated, Final

from fastapi import FastAPI, Header
from sqlalchemy.orm import Session, sessionmaker

import schemas
from adapters.tax import mapping, registry, seed, service
from adapters.tax.disclosure import FieldsByClient, disclosed_fields
from adapters.tax.settings import TaxRegistrySettings
from adapters.toolkit.app import build_registry_app, serve
from adapters.toolkit.clients import client_from_header
from adapters.toolkit.errors import ErrorBody

WSDL_FILE: Final = ("tax", "tax-registry.wsdl")

XRoadClient = Annotated[
    str | None,
    Header(
        alias="X-Road-Client",
        description="The calling subsystem, set by the security server; decides which "
        "fields are disclosed.",
    ),
]


def _add_rest_routes(app: FastAPI, sessions: sessionmaker[Session], policy: FieldsByClient) -> None:
    def errors(malformed: str) -> dict[int | str, dict[str, object]]:
        return {
            400: {"model": ErrorBody, "description": malformed},
            404: {"model": ErrorBody, "description": "no such taxpayer"},
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


def create_app(settings: TaxRegistrySettings) -> FastAPI:
    """The tax registry adapter, with its database created and seeded on first start."""
    policy = settings.fields_by_client
    app, sessions = build_registry_app(
        settings,
        title="Tax registry (Mongolian Tax Administration)",
        subsystem="MN/GOV/MTA/tax-registry",
        metadata=registry.Base.metadata,
        seed_if_empty=seed.seed_if_empty,
        soap_service=partial(service.answer_soap, policy=policy),
        soap_codes=service.SOAP_SERVICES,
        wsdl=schemas.path(*WSDL_FILE).read_bytes(),
    )
    _add_rest_routes(app, sessions, policy)
    return app


def from_environment() -> FastAPI:
    """`uvicorn --factory adapters.tax.app:from_environment`: settings from `XROAD_TAX_*`."""
    return create_app(TaxRegistrySettings())  # type: ignore[call-arg]  # pydantic fills fields


def run(host: str = "127.0.0.1", port: int = 9004) -> None:
    """Serve the registry in the foreground (`xroad serve adapter tax`)."""
    serve(from_environment(), host, port)
