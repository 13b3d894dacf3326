"""Schemathesis against the central server's admin API, from its own `/openapi.json`: for
generated valid and invalid requests, authenticated as a registration officer and as an
administrator, no 5xx and every response as the schema says (issue 10, "Hostile input").

The API runs in process (ASGI) over a real SQLite registry in tmp_path with the demo's seed
shape; a bounded number of examples per operation keeps the module within a minute. The
security server's admin API publishes no OpenAPI document, so it is not covered here (its
hostile-input tests are in tests/e2e/test_admin_api.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)
from sqlalchemy import create_engine

from xroad.central.admin_api import admin_services, mount_admin_api
from xroad.central.roles import Role
from xroad.central.seed import InstanceSeed, MemberSeed, ServerSeed
from xroad.central.service import Registry
from xroad.clock import SystemClock
from xroad.identifiers import ClientId, SecurityServerId

MAX_EXAMPLES = 10  # per operation and mode: bounded, still reaches every route's checks
CHECKS: list[CheckFunction] = [not_a_server_error, response_schema_conformance,
                                     content_type_conformance, response_headers_conformance]


@pytest.fixture(scope="module")
def admin_app(tmp_path_factory: pytest.TempPathFactory) -> tuple[FastAPI, dict[Role, str]]:
    directory: Path = tmp_path_factory.mktemp("central-openapi")
    engine = create_engine(f"sqlite:///{directory}/central.db")
    registry = Registry(engine, "MN")
    gasr = ClientId.parse("MN/GOV/GASR")
    registry.apply_seed(InstanceSeed(
        instance="MN", member_classes=(("GOV", "government"), ("COM", "companies")),
        members=(MemberSeed(gasr, "General Authority for State Registration", ("civil",)),),
        servers=(ServerSeed(SecurityServerId.parse("MN/GOV/GASR/ss1"),
                            (ClientId.parse("MN/GOV/GASR/civil"),)),)))
    services = admin_services(engine, SystemClock(), "MN")
    app = FastAPI()
    mount_admin_api(app, services)
    tokens = {role: services.keys.create(role, f"schemathesis {role}").token for role in Role}
    return app, tokens


def operations(app: FastAPI) -> list[APIOperation]:
    found = [result.ok() for result in
             schemathesis.openapi.from_asgi("/openapi.json", app).get_all_operations()]
    assert len(found) >= 10, "the admin API's OpenAPI lists too few operations"
    return found


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_admin_api_conforms_to_its_openapi(admin_app: tuple[FastAPI, dict[Role, str]],
                                           mode: GenerationMode) -> None:
    app, tokens = admin_app
    for operation in operations(app):
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  phases=[Phase.generate],  # no shrinking: a failure is reported as found
                  suppress_health_check=list(HealthCheck))
        def conforms(case: schemathesis.Case) -> None:
            # The officer first: it cannot change what the administrator's call reads next.
            for role in (Role.REGISTRATION_OFFICER, Role.ADMINISTRATOR):
                case.call_and_validate(
                    headers={"Authorization": f"X-Road-ApiKey token={tokens[role]}"},
                    checks=CHECKS)

        conforms()
