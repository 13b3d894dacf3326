"""Data minimisation: each client subsystem receives only the vehicle fields it may see."""

from collections.abc import Iterator
from urllib.parse import quote

import pytest
import xmlschema
from fastapi.testclient import TestClient
from lxml import etree
from vehicle_soap import (
    DEMO_PLATE,
    TAX_FIELDS,
    VEHICLE_NS,
    envelope,
    response_schema,
    vehicle_settings,
)
from xroad_soap import DEMO, PORTAL, TAX, body_of, child_names, post_soap

from adapters.vehicle import create_app
from adapters.vehicle.disclosure import ALL_FIELDS, FieldPolicy, VehicleField
from xroad.identifiers import ClientId

POLICE = "MN/GOV/POLICE"  # a rule for a member covers all its subsystems
POLICE_FIELDS = ["vin", "inspection", "insurance"]


@pytest.fixture(scope="module")
def vehicles(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = vehicle_settings(
        tmp_path_factory.mktemp("vehicle") / "vehicle.db",
        client_fields={TAX: TAX_FIELDS, POLICE: POLICE_FIELDS},
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _rest_keys(vehicles: TestClient, client: str | None) -> set[str]:
    headers = {} if client is None else {"X-Road-Client": client}
    response = vehicles.get(f"/vehicles/{quote(DEMO_PLATE)}", headers=headers)
    assert response.status_code == 200
    return set(response.json())


def test_rest_tax_registry_gets_only_its_fields(vehicles: TestClient) -> None:
    assert _rest_keys(vehicles, TAX) == {"plate_number", *TAX_FIELDS}
    listed = vehicles.get("/vehicles", params={"owner": DEMO}, headers={"X-Road-Client": TAX})
    for vehicle in listed.json()["vehicles"]:
        assert set(vehicle) == {"plate_number", *TAX_FIELDS}
        assert "vin" not in vehicle
        assert "insurance" not in vehicle


def test_rest_member_rule_covers_its_subsystems(vehicles: TestClient) -> None:
    expected = {"plate_number", *POLICE_FIELDS}
    assert _rest_keys(vehicles, f"{POLICE}/traffic") == expected
    assert _rest_keys(vehicles, POLICE) == expected


@pytest.mark.parametrize("client", [PORTAL, "MN/COM/BANK/loans", None])
def test_rest_clients_without_a_rule_get_every_field(
    vehicles: TestClient, client: str | None
) -> None:
    assert _rest_keys(vehicles, client) == {field.value for field in VehicleField}


def test_soap_tax_registry_gets_only_its_fields(vehicles: TestClient) -> None:
    schema: xmlschema.XMLSchema = response_schema()
    for data in (envelope(client=TAX), envelope("getVehicleByPlate", DEMO_PLATE, client=TAX)):
        status, response = post_soap(vehicles, data)
        assert status == 200
        wrapper = body_of(response)
        for vehicle in wrapper.iter(f"{{{VEHICLE_NS}}}vehicle"):
            assert child_names(vehicle) == [
                "plateNumber",
                "make",
                "model",
                "year",
                "ownerRegisterNumber",
                "registrationDate",
            ]
        schema.validate(etree.tostring(wrapper, encoding="unicode"))


def test_soap_without_client_header_gets_every_field(vehicles: TestClient) -> None:
    _, response = post_soap(vehicles, envelope("getVehicleByPlate", DEMO_PLATE, client=None))
    vehicle = body_of(response).find(f"{{{VEHICLE_NS}}}vehicle")
    assert vehicle is not None
    assert len(child_names(vehicle)) == len(VehicleField)


def test_policy_always_discloses_the_plate_number() -> None:
    policy = FieldPolicy.from_settings({TAX: frozenset({VehicleField.YEAR})})
    assert policy.fields_for(ClientId.parse(TAX)) == {
        VehicleField.PLATE_NUMBER,
        VehicleField.YEAR,
    }
    assert policy.fields_for(ClientId.parse(PORTAL)) == ALL_FIELDS
    assert FieldPolicy().fields_for(None) == ALL_FIELDS


def test_policy_subsystem_rule_wins_over_member_rule() -> None:
    policy = FieldPolicy.from_settings(
        {"MN/GOV/MTA": frozenset({VehicleField.VIN}), TAX: frozenset({VehicleField.MAKE})}
    )
    assert VehicleField.MAKE in policy.fields_for(ClientId.parse(TAX))
    assert VehicleField.VIN not in policy.fields_for(ClientId.parse(TAX))
    assert VehicleField.VIN in policy.fields_for(ClientId.parse("MN/GOV/MTA/other"))
