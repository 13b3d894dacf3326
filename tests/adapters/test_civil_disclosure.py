"""Civil registry data minimisation: the tax authority learns neither family nor birth place."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from civil_soap import CIVIL_NS, civil_settings, envelope
from fastapi.testclient import TestClient
from lxml import etree
from xroad_soap import DEMO, PORTAL, TAX, body_of, child_names, post_soap, response_schema

from adapters.civil import create_app
from adapters.civil.disclosure import ALL_FIELDS, DEMO_RULES, DisclosurePolicy, PersonField

AUDIT = "MN/GOV/NAO"  # the audit office, as a member: a rule for all its subsystems
AUDIT_PURPOSE = "аудит: нас барсан иргэний тэтгэмж"
RULES = """
[[rule]]
client = "MN/GOV/NAO"
fields = []

[[rule]]
client = "MN/GOV/NAO"
purpose = "аудит: нас барсан иргэний тэтгэмж"
fields = ["name", "status"]
"""
EVERYTHING = {
    "register_number", "family_name", "given_name", "clan_name", "sex", "birth_date",
    "birth_place", "citizenship", "address", "status",
}
SCHEMA = response_schema("civil", "civil-registry.wsdl")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    directory = tmp_path_factory.mktemp("civil")
    rules = directory / "disclosure.toml"
    rules.write_text(RULES, encoding="utf-8")
    settings = civil_settings(directory / "civil.db", disclosure_file=rules)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _headers(client: str | None, purpose: str | None = None) -> dict[str, str | bytes]:
    headers: dict[str, str | bytes] = {} if client is None else {"X-Road-Client": client}
    if purpose is not None:
        headers["X-Road-Issue"] = purpose.encode()  # UTF-8 bytes, as clients send it
    return headers


# The policy


def test_demo_policy_withholds_family_and_birth_place_from_the_tax_authority() -> None:
    policy = DisclosurePolicy(DEMO_RULES)
    assert policy.fields_for(TAX) == ALL_FIELDS - {PersonField.FAMILY, PersonField.BIRTH_PLACE}
    assert policy.fields_for(TAX, "any purpose") == policy.fields_for(TAX)
    assert policy.fields_for(PORTAL) == ALL_FIELDS
    assert policy.fields_for(None) == ALL_FIELDS


def test_duplicate_rule_with_the_demo_default_is_refused_at_start(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(f'[[rule]]\nclient = "{TAX}"\nfields = ["name"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="two disclosure rules"):
        create_app(civil_settings(tmp_path / "c.db", disclosure_file=rules))
    replaced = civil_settings(tmp_path / "c.db", disclosure_file=rules, disclosure_rules=())
    with TestClient(create_app(replaced)) as only_the_file:
        answer = only_the_file.get(f"/persons/{DEMO}", headers=_headers(TAX)).json()
    assert set(answer) == {"register_number", "family_name", "given_name"}


def test_malformed_client_in_a_rule_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="MN/GOV"):
        civil_settings(tmp_path / "c.db", disclosure_rules=[{"client": "MN/GOV", "fields": []}])


# REST


def test_rest_tax_authority_gets_no_birth_place(client: TestClient) -> None:
    response = client.get(f"/persons/{DEMO}", headers=_headers(TAX))
    assert response.status_code == 200
    assert set(response.json()) == EVERYTHING - {"birth_place"}
    assert response.json()["address"]["soum"] == "Баянзүрх дүүрэг"


def test_rest_tax_authority_gets_no_family(client: TestClient) -> None:
    response = client.get(f"/persons/{DEMO}/family", headers=_headers(TAX))
    assert response.status_code == 200
    assert response.json() == {"register_number": DEMO}


@pytest.mark.parametrize("caller", [PORTAL, None])
def test_rest_portal_gets_everything(client: TestClient, caller: str | None) -> None:
    person = client.get(f"/persons/{DEMO}", headers=_headers(caller)).json()
    assert set(person) == EVERYTHING
    assert person["birth_place"] == "Улаанбаатар"
    family = client.get(f"/persons/{DEMO}/family", headers=_headers(caller)).json()
    assert [r["given_name"] for r in family["relatives"]] == [
        "Номин", "Бат-Эрдэнэ", "Сарангэрэл", "Тэмүүлэн"
    ]
    assert set(family["relatives"][0]) == {
        "relation", "register_number", "family_name", "given_name", "sex", "birth_date", "status"
    }


def test_rest_member_rule_and_purpose(client: TestClient) -> None:
    stated = client.get(f"/persons/{DEMO}", headers=_headers(f"{AUDIT}/benefits", AUDIT_PURPOSE))
    assert stated.json() == {
        "register_number": DEMO, "family_name": "Бат-Эрдэнэ", "given_name": "Болд",
        "status": "alive",
    }
    unstated = client.get(f"/persons/{DEMO}", headers=_headers(f"{AUDIT}/benefits"))
    assert unstated.json() == {"register_number": DEMO}
    family = client.get(f"/persons/{DEMO}/family", headers=_headers(AUDIT, AUDIT_PURPOSE))
    assert family.json() == {"register_number": DEMO}


def test_openapi_marks_withheld_fields_optional(client: TestClient) -> None:
    components = client.get("/openapi.json").json()["components"]["schemas"]
    assert components["PersonRecord"]["required"] == ["register_number"]
    assert components["Family"]["required"] == ["register_number"]
    assert set(components["Relative"]["required"]) == {"relation", "register_number"}
    operation = client.get("/openapi.json").json()["paths"]["/persons/{register_number}"]["get"]
    assert {"X-Road-Client", "X-Road-Issue"} <= {p["name"] for p in operation["parameters"]}


# SOAP: the client and purpose come in the X-Road header


def _soap(client: TestClient, service_code: str, caller: str, issue: str) -> etree._Element:
    status, response = post_soap(client, envelope(service_code, client=caller, issue=issue))
    assert status == 200
    wrapper = body_of(response)
    SCHEMA.validate(etree.tostring(wrapper, encoding="unicode"))  # reduced answers are valid
    return wrapper


def test_soap_tax_authority_gets_no_birth_place_nor_family(client: TestClient) -> None:
    person = _soap(client, "getPerson", TAX, "татвар").find(f"{{{CIVIL_NS}}}person")
    assert person is not None
    assert "birthPlace" not in child_names(person)
    assert child_names(person) == [
        "registerNumber", "familyName", "givenName", "clanName", "sex", "birthDate",
        "citizenship", "address", "status",
    ]
    family = _soap(client, "getFamily", TAX, "татвар").find(f"{{{CIVIL_NS}}}family")
    assert family is not None
    assert child_names(family) == ["registerNumber"]


def test_soap_portal_gets_everything(client: TestClient) -> None:
    person = _soap(client, "getPerson", PORTAL, "портал").find(f"{{{CIVIL_NS}}}person")
    assert person is not None
    assert person.findtext(f"{{{CIVIL_NS}}}birthPlace") == "Улаанбаатар"
    family = _soap(client, "getFamily", PORTAL, "портал")
    assert len(family.findall(f".//{{{CIVIL_NS}}}relative")) == 4


def test_soap_member_rule_and_purpose(client: TestClient) -> None:
    person = _soap(client, "getPerson", f"{AUDIT}/benefits", AUDIT_PURPOSE)
    found = person.find(f"{{{CIVIL_NS}}}person")
    assert found is not None
    assert child_names(found) == ["registerNumber", "familyName", "givenName", "status"]
    unstated = _soap(client, "getPerson", f"{AUDIT}/benefits", "something else")
    found = unstated.find(f"{{{CIVIL_NS}}}person")
    assert found is not None
    assert child_names(found) == ["registerNumber"]


def test_soap_and_rest_disclose_the_same_fields(client: TestClient) -> None:
    for caller in (PORTAL, TAX, f"{AUDIT}/benefits"):
        rest = client.get(f"/persons/{DEMO}", headers=_headers(caller)).json()
        wrapper = _soap(client, "getPerson", caller, "лавлагаа")
        person = wrapper.find(f"{{{CIVIL_NS}}}person")
        assert person is not None
        assert len(child_names(person)) == len(rest), caller
