"""Data minimisation: each client subsystem receives only the tax fields configured for it."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tax_soap import DEMO_TIN, LAND, PORTAL, envelope, record_of, response_schema, tax_settings
from xroad_soap import DEMO, body_of, post_soap

from adapters.tax import create_app, mapping
from adapters.tax.disclosure import (
    ALL_FIELDS,
    DEMO_FIELDS_BY_CLIENT,
    TaxField,
    disclosed_fields,
)
from adapters.toolkit.clients import client_from_header
from adapters.toolkit.errors import InvalidRequest
from xroad.identifiers import ClientId

VEHICLE = ClientId("MN", "GOV", "RTDC", "vehicle-registry")


@pytest.fixture(scope="module")
def tax(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(tax_settings(tmp_path_factory.mktemp("tax") / "tax.db"))
    with TestClient(app) as test_client:
        yield test_client


def test_field_names_are_those_of_the_answers() -> None:
    answered = set(mapping.TaxStatus.model_fields) | set(mapping.TaxpayerRecord.model_fields)
    assert answered == {field.value for field in TaxField}


def test_policy_lookup() -> None:
    policy = {str(LAND): frozenset({TaxField.PROPERTY_TAX_PAID}), "MN/GOV/RTDC": frozenset()}
    assert disclosed_fields(policy, LAND) == {TaxField.PROPERTY_TAX_PAID}
    assert disclosed_fields(policy, VEHICLE) == frozenset()  # its member's entry
    assert disclosed_fields(policy, PORTAL) == ALL_FIELDS  # not named: everything
    assert disclosed_fields(policy, None) == ALL_FIELDS  # called directly, not via the bus


def test_demo_policy_names_the_land_and_vehicle_registries() -> None:
    assert disclosed_fields(DEMO_FIELDS_BY_CLIENT, LAND) == {
        TaxField.TAX_YEAR,
        TaxField.PROPERTY_TAX_PAID,
    }
    assert TaxField.ARREARS_MNT not in disclosed_fields(DEMO_FIELDS_BY_CLIENT, VEHICLE)


def test_client_header() -> None:
    assert client_from_header(None) is None
    assert client_from_header(" MN/GOV/ALAMGAC/land-registry ") == LAND
    with pytest.raises(InvalidRequest):
        client_from_header("land-registry")


# REST


def test_rest_land_registry_sees_only_whether_property_tax_is_paid(tax: TestClient) -> None:
    response = tax.get(f"/tax-status/{DEMO}", headers={"X-Road-Client": str(LAND)})
    assert response.status_code == 200
    assert response.json() == {"register_number": DEMO, "property_tax_paid": False}


def test_rest_member_policy_covers_its_subsystems(tax: TestClient) -> None:
    response = tax.get(f"/tax-status/{DEMO}", headers={"X-Road-Client": str(VEHICLE)})
    assert response.json() == {"register_number": DEMO, "tax_year": 2025, "vehicle_tax_paid": True}


def test_rest_portal_sees_everything(tax: TestClient) -> None:
    response = tax.get(f"/tax-status/{DEMO}", headers={"X-Road-Client": str(PORTAL)})
    assert len(response.json()) == 11


def test_rest_taxpayer_key_is_always_returned(tax: TestClient) -> None:
    response = tax.get(f"/taxpayers/{DEMO_TIN}", headers={"X-Road-Client": str(LAND)})
    assert response.json() == {"tin": DEMO_TIN}  # not even the register number


# SOAP


def test_soap_land_registry_sees_only_whether_property_tax_is_paid(tax: TestClient) -> None:
    status, response = post_soap(tax, envelope(client=LAND))
    assert status == 200
    wrapper = body_of(response)
    assert record_of(wrapper, "taxStatus") == {"registerNumber": DEMO, "propertyTaxPaid": "false"}
    response_schema().validate(wrapper)


def test_soap_member_client_uses_its_member_policy(tax: TestClient) -> None:
    _, response = post_soap(tax, envelope(client=VEHICLE.member))
    assert record_of(body_of(response), "taxStatus") == {
        "registerNumber": DEMO,
        "taxYear": "2025",
        "vehicleTaxPaid": "true",
    }


def test_soap_and_rest_disclose_the_same_fields(tax: TestClient) -> None:
    for client in (PORTAL, LAND, VEHICLE):
        rest = tax.get(f"/taxpayers/{DEMO_TIN}", headers={"X-Road-Client": str(client)}).json()
        _, response = post_soap(tax, envelope("getTaxpayer", ("tin", DEMO_TIN), client=client))
        soap = record_of(body_of(response), "taxpayer")
        assert len(soap) == len(rest), client
