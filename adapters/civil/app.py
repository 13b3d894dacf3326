"""HTTP edge of the civil registry: routes, wire forms of errors, startup.

The security server calls this adapter over plain HTTP: X-Road SOAP on `POST /soap`, REST r1
paths under `/persons`. Nothing here decides anything about persons; it turns requests into
`service` calls and errors into what each protocol expects. No stack trace ever reaches a
client: unexpected errors become an anonymous 500 whose fault id is only in the log.
"""

from typing import Final

import structlog
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

import schemas
from adapters.civil import mapping, registry, seed, service
from adapters.civil.settings import CivilRegistrySettings
from adapters.toolkit.app import add_health_route, add_soap_routes, registry_app
from adapters.toolkit.database import connect
from adapters.toolkit.errors import ErrorBody
from xroad.limits import Limits

WSDL_FILE: Final = ("civil", "civil-registry.wsdl")
_log: Final = structlog.get_logger(__name__)


def _add_rest_routes(app: FastAPI, sessions: sessionmaker[Session]) -> None:
    errors: dict[int | str, dict[str, object]] = {
        400: {"model": ErrorBody, "description": "malformed register number"},
        404: {"model": ErrorBody, "description": "no such person"},
    }

    @app.get("/persons/{register_number}", responses=errors, summary="REST service persons")
    def get_person(register_number: str) -> mapping.PersonRecord:
        with sessions() as session:
            return mapping.person_record(service.get_person(session, register_number))

    @app.get("/persons/{register_number}/family", responses=errors, summary="A person's family")
    def get_family(register_number: str) -> mapping.Family:
        with sessions() as session:
            return mapping.family(*service.get_family(session, register_number))


def create_app(settings: CivilRegistrySettings) -> FastAPI:
    """The civil registry adapter, with its database created and seeded on first start."""
    engine = connect(settings.database_url)
    registry.create_schema(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    with sessions.begin() as session:
        if seed.seed_if_empty(session):
            _log.info("civil_registry.seeded", persons=registry.count_persons(session))

    app = registry_app(
        title="Civil registry (General Authority for State Registration)",
        summary="X-Road subsystem MN/GOV/GASR/civil-registry",
        engine=engine,
    )
    add_soap_routes(
        app,
        sessions,
        Limits(max_xml_bytes=settings.max_soap_bytes),
        service.answer_soap,
        summary="X-Road SOAP: getPerson, getFamily",
        wsdl=schemas.path(*WSDL_FILE).read_bytes(),
    )
    _add_rest_routes(app, sessions)
    add_health_route(app)
    return app


def from_environment() -> FastAPI:
    """`uvicorn --factory adapters.civil.app:from_environment`: settings from `XROAD_CIVIL_*`."""
    return create_app(CivilRegistrySettings())  # type: ignore[call-arg]  # pydantic fills fields
