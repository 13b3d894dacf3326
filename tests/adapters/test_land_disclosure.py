"""Data minimisation: each client receives the parcel fields configured for it and its purpose."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import xmlschema
from fastapi.testclient import TestClient
from land_soap import envelope, land, land_settings, response_schema
from lxml import etree
from xroad_soap import DEMO, PORTAL, TAX, body_of, fault_code, post_soap

from adapters.land import DisclosurePolicy, DisclosureRule, ParcelField, create_app
from adapters.land.disclosure import ALL_FIELDS, load_rules
from adapters.land.settings import LandRegistrySettings

EXAMPLE = Path(__file__).parents[2] / "adapters" / "land" / "disclosure.example.toml"
AUDIT = "MN/GOV/NAO/audit"  # the audit office: only for its stated purpose
AUDIT_PURPOSE = "аудит: газрын төлбөр"
TAX_FIELDS = frozenset(
    {ParcelField.LOCATION, ParcelField.AREA, ParcelField.LAND_USE, ParcelField.OWNERS}
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    rules = (
        DisclosureRule(client=AUDIT, fields=frozenset()),
        DisclosureRule(client=AUDIT, purpose=AUDIT_PURPOSE, fields=frozenset({ParcelField.AREA})),
    )
    settings = land_settings(tmp_path_factory.mktemp("land") / "land.db", *rules)
    settings = settings.model_copy(update={"disclosure_file": EXAMPLE})
    with TestClient(create_app(settings)) as test_client:
        yield test_client


# The policy


def test_example_rules_keep_shares_from_the_tax_authority() -> None:
    policy = DisclosurePolicy(load_rules(EXAMPLE))
    assert policy.fields_for(TAX, None) == TAX_FIELDS
    assert policy.fields_for(TAX, "any purpose") == TAX_FIELDS
    assert policy.fields_for(PORTAL, None) == ALL_FIELDS


def test_unlisted_and_anonymous_clients_receive_every_field() -> None:
    policy = DisclosurePolicy(load_rules(EXAMPLE))
    assert policy.fields_for("MN/GOV/RTDC/vehicle-registry", None) == ALL_FIELDS
    assert policy.fields_for(None, None) == ALL_FIELDS
    assert DisclosurePolicy().fields_for(TAX, None) == ALL_FIELDS


def test_a_purpose_rule_wins_over_the_client_rule() -> None:
    policy = DisclosurePolicy([
        DisclosureRule(client=AUDIT, fields=frozenset()),
        DisclosureRule(client=AUDIT, purpose=AUDIT_PURPOSE, fields=frozenset({ParcelField.AREA})),
    ])
    assert policy.fields_for(AUDIT, AUDIT_PURPOSE) == {ParcelField.AREA}
    assert policy.fields_for(AUDIT, "something else") == frozenset()
    assert policy.fields_for(AUDIT, None) == frozenset()


def test_duplicate_rules_are_refused() -> None:
    rule = DisclosureRule(client=TAX, fields=frozenset())
    with pytest.raises(ValueError, match="two disclosure rules"):
        DisclosurePolicy([rule, rule])


@pytest.mark.parametrize(
    "text",
    [
        '[[rule]]\nclient = "MN/GOV"\nfields = []',  # not a client identifier
        f'[[rule]]\nclient = "{TAX}"\nfields = ["shares"]',  # not a field
        f'[[rule]]\nclient = "{TAX}"\nfields = []\nfeilds = ["area"]',  # a typo
        "[[rule]\n",  # not TOML
        "rule = 3",
    ],
)
def test_malformed_rule_files_are_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=r"rules\.toml"):
        load_rules(path)
    settings = LandRegistrySettings(database_url="sqlite://", disclosure_file=path)
    with pytest.raises(ValueError, match=r"rules\.toml"):
        create_app(settings)  # fails at start, not at the first request


# REST: the client arrives in X-Road-Client, the purpose in X-Road-Issue


def _home(client: TestClient, headers: dict[str, str | bytes]) -> dict[str, object]:
    response = client.get("/parcels", params={"owner": DEMO}, headers=headers)
    assert response.status_code == 200
    parcel: dict[str, object] = response.json()["parcels"][0]
    return parcel


def test_rest_tax_authority_receives_no_shares(client: TestClient) -> None:
    home = _home(client, {"X-Road-Client": TAX})
    assert set(home) == {"parcel_id", "location", "area_m2", "land_use", "owners"}
    assert home["owners"] == [{"register_number": "УБ01250846"}, {"register_number": DEMO}]


def test_rest_portal_receives_everything(client: TestClient) -> None:
    home = _home(client, {"X-Road-Client": PORTAL})
    assert set(home) == {
        "parcel_id", "location", "area_m2", "land_use", "certificate_number", "owners", "validity"
    }
    assert home == _home(client, {})  # no client: every field (the default)


def test_rest_purpose_selects_the_rule(client: TestClient) -> None:
    stated = _home(client, {"X-Road-Client": AUDIT, "X-Road-Issue": AUDIT_PURPOSE.encode()})
    assert stated == {"parcel_id": "0101000001", "area_m2": 650}
    assert _home(client, {"X-Road-Client": AUDIT}) == {"parcel_id": "0101000001"}
    single = client.get("/parcels/0101000001", headers={"X-Road-Client": AUDIT}).json()
    assert single == {"parcel_id": "0101000001"}


def test_rest_malformed_client_header(client: TestClient) -> None:
    response = client.get("/parcels", params={"owner": DEMO}, headers={"X-Road-Client": "MN/GOV"})
    assert response.status_code == 400
    assert response.json()["type"] == "InvalidClientIdentifier"


# SOAP: the client and the purpose are in the X-Road header


def test_soap_tax_authority_receives_no_shares(client: TestClient) -> None:
    _, response = post_soap(client, envelope(client=TAX))
    wrapper = body_of(response)
    home = wrapper.findall(land("parcels/parcel"))[0]
    assert [etree.QName(child).localname for child in home] == [
        "parcelId", "location", "areaM2", "landUse", "owner", "owner"
    ]
    assert home.findall(land("owner/share")) == []
    response_schema().validate(etree.tostring(wrapper, encoding="unicode"))


def test_soap_portal_receives_everything(client: TestClient) -> None:
    _, response = post_soap(client, envelope(client=PORTAL))
    home = body_of(response).findall(land("parcels/parcel"))[0]
    assert len(home.findall(land("owner/share"))) == 2
    assert home.find(land("certificateNumber")) is not None
    assert home.find(land("validity")) is not None


def test_soap_purpose_selects_the_rule(client: TestClient) -> None:
    schema: xmlschema.XMLSchema = response_schema()
    _, response = post_soap(client, envelope("getParcel", "0101000001", client=AUDIT,
                                              issue=AUDIT_PURPOSE))
    parcel = body_of(response).find(land("parcel"))
    assert parcel is not None
    assert [etree.QName(child).localname for child in parcel] == ["parcelId", "areaM2"]
    schema.validate(etree.tostring(body_of(response), encoding="unicode"))


def test_soap_malformed_client_header(client: TestClient) -> None:
    data = envelope().replace(b'objectType="SUBSYSTEM"', b'objectType="MEMBER"', 1)
    status, response = post_soap(client, data)
    assert status == 500
    assert fault_code(response) == "Client.InvalidClientIdentifier"
