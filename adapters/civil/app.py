"""HTTP edge of the civil registry: routes, wire forms of errors, startup.

The security server calls this adapter over plain HTTP: X-Road SOAP on `POST /soap`, REST r1
paths under `/persons`, with the client's identifier in `X-Road-Client` and its purpose in
`X-Road-Issue` (REST) or the X-Road header (SOAP). Nothing here decides anything about persons;
it turns requests into `service` calls and errors into what each protocol expects. No stack
trace ever reaches a client: unexpected errors become an anonymous 500 whose fault id is only
in the log.
"""

from functools import partial
from typing import Annotated, Final

from fastapi import FastAPI, Header
from sqlalchemy.orm import Session, sessionmaker

import schemas
from adapters.civil import mapping, registry, seed, service
from adapters.civil.disclosure import DisclosurePolicy, DisclosureRule, PersonField
from adapters.civil.settings import CivilRegistrySettings
from adapters.toolkit.app import build_registry_app, serve
from adapters.toolkit.clients import (
    CLIENT_HEADER,
    ISSUE_HEADER,
    client_from_header,
    purpose_from_header,
)
from adapters.toolkit.disclosure import configured_rules
from adapters.toolkit.errors import ErrorBody

WSDL_FILE: Final = ("civil", "civil-registry.wsdl")

XRoadClient = Annotated[
    str | None,
    Header(alias=CLIENT_HEADER, description="set by the security server; selects the fields"),
]
XRoadIssue = Annotated[
    str | None,
    Header(alias=ISSUE_HEADER, description="the client's stated purpose; may select the fields"),
]


def _add_rest_routes(
    app: FastAPI, sessions: sessionmaker[Session], policy: DisclosurePolicy
) -> None:
    errors: dict[int | str, dict[str, object]] = {
        400: {"model": ErrorBody, "description": "malformed register number or X-Road-Client"},
        404: {"model": ErrorBody, "description": "no such person"},
    }

    def fields(client: str | None, issue: str | None) -> frozenset[PersonField]:
        return policy.fields_for(client_from_header(client), purpose_from_header(issue))

    @app.get(
        "/persons/{register_number}",
        responses=errors,
        response_model_exclude_unset=True,
        summary="REST service persons",
    )
    def get_person(
        register_number: str, client: XRoadClient = None, issue: XRoadIssue = None
    ) -> mapping.PersonRecord:
        disclosed = fields(client, issue)
        with sessions() as session:
            return mapping.person_record(service.get_person(session, register_number), disclosed)

    @app.get(
        "/persons/{register_number}/family",
        responses=errors,
        response_model_exclude_unset=True,
        summary="A person's family",
    )
    def get_family(
        register_number: str, client: XRoadClient = None, issue: XRoadIssue = None
    ) -> mapping.Family:
        disclosed = fields(client, issue)
        with sessions() as session:
            return mapping.family(*service.get_family(session, register_number), disclosed)


def disclosure_policy(settings: CivilRegistrySettings) -> DisclosurePolicy:
    """The rules of the settings' file, then those given directly; a duplicate is an error."""
    return DisclosurePolicy(
        configured_rules(DisclosureRule, settings.disclosure_file, settings.disclosure_rules)
    )


def create_app(settings: CivilRegistrySettings) -> FastAPI:
    """The civil registry adapter, with its database created and seeded on first start."""
    policy = disclosure_policy(settings)
    app, sessions = build_registry_app(
        settings,
        title="Civil registry (General Authority for State Registration)",
        subsystem="MN/GOV/GASR/civil-registry",
        metadata=registry.Base.metadata,
        seed_if_empty=seed.seed_if_empty,
        soap_service=partial(service.answer_soap, policy=policy),
        soap_codes=service.SOAP_SERVICES,
        wsdl=schemas.path(*WSDL_FILE).read_bytes(),
    )
    _add_rest_routes(app, sessions, policy)
    return app


def from_environment() -> FastAPI:
    """`uvicorn --factory adapters.civil.app:from_environment`: settings from `XROAD_CIVIL_*`."""
    return create_app(CivilRegistrySettings())  # type: ignore[call-arg]  # pydantic fills fields


def run(host: str = "127.0.0.1", port: int = 9001) -> None:
    """Serve the registry in the foreground (`xroad serve adapter civil`)."""
    serve(from_environment(), host, port)
