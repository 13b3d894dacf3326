"""The tax registry adapter over HTTP: REST, X-Road SOAP, WSDL, OpenAPI."""

from collections.abc import Iterator

import pytest
import xmlschema
from fastapi.testclient import TestClient
from lxml import etree
from tax_soap import (
    DEMO_TIN,
    NOBODY_TIN,
    TAX_NS,
    envelope,
    record_of,
    response_schema,
    tax_settings,
)
from xroad_soap import DEMO, LIMITS, NOBODY, WSDL_NS, body_of, exc14n, fault_code, post_soap

import schemas
from adapters.tax import create_app, seed
from xroad.messages.xml import SOAP_ENV_NS, XROAD_NS, parse_untrusted

DEMO_STATUS = {
    "register_number": DEMO,
    "tin": DEMO_TIN,
    "status": "active",
    "arrears_mnt": 0,
    "tax_year": 2025,
    "property_tax_due_mnt": 186000,
    "property_tax_paid": False,
    "vehicle_tax_due_mnt": 96000,
    "vehicle_tax_paid": True,
    "last_filing_date": "2025-02-07",
    "last_filing_period": "2024",
}


@pytest.fixture(scope="module")
def tax(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(tax_settings(tmp_path_factory.mktemp("tax") / "tax.db"))
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return response_schema()


def test_wsdl_carries_the_x_road_extensions() -> None:
    wsdl = parse_untrusted(schemas.path("tax", "tax-registry.wsdl").read_bytes(), LIMITS)
    header_parts = wsdl.findall(f"{{{WSDL_NS}}}message[@name='requestheader']/{{{WSDL_NS}}}part")
    assert {part.get("element") for part in header_parts} == {
        f"xrd:{name}" for name in ("client", "service", "id", "userId", "issue", "protocolVersion")
    }
    for operation in wsdl.findall(f"{{{WSDL_NS}}}binding/{{{WSDL_NS}}}operation"):
        assert operation.findtext(f"{{{XROAD_NS}}}version") == "v1"
    port_operations = wsdl.findall(f"{{{WSDL_NS}}}portType/{{{WSDL_NS}}}operation")
    assert {op.get("name") for op in port_operations} == {"getTaxStatus", "getTaxpayer"}
    for operation in port_operations:
        assert operation.find(f"{{{WSDL_NS}}}documentation/{{{XROAD_NS}}}title") is not None


def test_wsdl_is_served_as_well_formed_xml(tax: TestClient) -> None:
    response = tax.get("/wsdl")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    served = parse_untrusted(response.content, LIMITS)
    assert served.get("targetNamespace") == TAX_NS
    assert response.content == schemas.path("tax", "tax-registry.wsdl").read_bytes()


def test_health(tax: TestClient) -> None:
    assert tax.get("/health").json() == {"status": "ok"}


def test_openapi_describes_both_services(tax: TestClient) -> None:
    spec = tax.get("/openapi.json").json()
    assert {"/tax-status/{register_number}", "/taxpayers/{tin}"} <= set(spec["paths"])
    operation = spec["paths"]["/tax-status/{register_number}"]["get"]
    assert {"200", "400", "404"} <= set(operation["responses"])
    assert "X-Road-Client" in {p["name"] for p in operation["parameters"]}
    amount = spec["components"]["schemas"]["TaxStatus"]["properties"]["arrears_mnt"]
    assert {"type": "integer", "minimum": 0} in amount["anyOf"]


# REST


def test_rest_tax_status(tax: TestClient) -> None:
    response = tax.get(f"/tax-status/{DEMO}")
    assert response.status_code == 200
    assert response.json() == DEMO_STATUS


def test_rest_taxpayer(tax: TestClient) -> None:
    response = tax.get(f"/taxpayers/{DEMO_TIN}")
    assert response.status_code == 200
    assert response.json() == {
        "tin": DEMO_TIN,
        "register_number": DEMO,
        "registered_since": "2018-09-03",
        "status": "active",
        "last_filing_date": "2025-02-07",
        "last_filing_period": "2024",
    }


@pytest.mark.parametrize("number", ["УБ9911223", "UB99112233", "уб99112233", "УБ99132233", " "])
def test_rest_malformed_register_number(tax: TestClient, number: str) -> None:
    response = tax.get(f"/tax-status/{number}")
    assert response.status_code == 400
    assert response.json()["type"] == "InvalidRegisterNumber"
    assert response.json()["message"]


@pytest.mark.parametrize(
    "tin", ["22029911223", "2202991122334", "22029911223x", "990299112233", "220299132233"]
)
def test_rest_malformed_tin(tax: TestClient, tin: str) -> None:
    response = tax.get(f"/taxpayers/{tin}")
    assert response.status_code == 400
    assert response.json()["type"] == "InvalidTin"


@pytest.mark.parametrize(("path", "number"), [("/tax-status", NOBODY), ("/taxpayers", NOBODY_TIN)])
def test_rest_unknown_taxpayer(tax: TestClient, path: str, number: str) -> None:
    response = tax.get(f"{path}/{number}")
    assert response.status_code == 404
    assert response.json()["type"] == "TaxpayerNotFound"


def test_rest_child_of_the_civil_registry_is_no_taxpayer(tax: TestClient) -> None:
    assert tax.get("/tax-status/УБ23221415").status_code == 404  # Болд's son, born 2023


# SOAP


def test_soap_get_tax_status(tax: TestClient, schema: xmlschema.XMLSchema) -> None:
    request = envelope()
    status, response = post_soap(tax, request)
    assert status == 200
    sent = parse_untrusted(request, LIMITS).find(f"{{{SOAP_ENV_NS}}}Header")
    echoed = response.find(f"{{{SOAP_ENV_NS}}}Header")
    assert sent is not None
    assert echoed is not None
    assert [exc14n(e) for e in echoed] == [exc14n(e) for e in sent if isinstance(e.tag, str)]
    wrapper = body_of(response)
    assert wrapper.tag == f"{{{TAX_NS}}}getTaxStatusResponse"
    assert record_of(wrapper, "taxStatus") == {
        "registerNumber": DEMO,
        "tin": DEMO_TIN,
        "status": "active",
        "arrearsMnt": "0",
        "taxYear": "2025",
        "propertyTaxDueMnt": "186000",
        "propertyTaxPaid": "false",
        "vehicleTaxDueMnt": "96000",
        "vehicleTaxPaid": "true",
        "lastFilingDate": "2025-02-07",
        "lastFilingPeriod": "2024",
    }
    schema.validate(etree.tostring(wrapper, encoding="unicode"))


def test_soap_get_taxpayer(tax: TestClient, schema: xmlschema.XMLSchema) -> None:
    status, response = post_soap(tax, envelope("getTaxpayer", ("tin", DEMO_TIN)))
    assert status == 200
    wrapper = body_of(response)
    assert wrapper.tag == f"{{{TAX_NS}}}getTaxpayerResponse"
    assert record_of(wrapper, "taxpayer") == {
        "tin": DEMO_TIN,
        "registerNumber": DEMO,
        "registeredSince": "2018-09-03",
        "status": "active",
        "lastFilingDate": "2025-02-07",
        "lastFilingPeriod": "2024",
    }
    schema.validate(etree.tostring(wrapper, encoding="unicode"))


def test_soap_accepts_unqualified_argument(tax: TestClient) -> None:
    data = envelope().replace(b"t:registerNumber", b"registerNumber")
    status, response = post_soap(tax, data)
    assert status == 200
    assert response.findtext(f".//{{{TAX_NS}}}tin") == DEMO_TIN


@pytest.mark.parametrize(
    ("service_code", "argument"),
    [("getTaxStatus", ("registerNumber", NOBODY)), ("getTaxpayer", ("tin", NOBODY_TIN))],
)
def test_soap_unknown_taxpayer_is_a_business_fault(
    tax: TestClient, schema: xmlschema.XMLSchema, service_code: str, argument: tuple[str, str]
) -> None:
    status, response = post_soap(tax, envelope(service_code, argument))
    assert status == 200
    assert fault_code(response) is None
    wrapper = body_of(response)
    assert wrapper.findtext(f"{{{TAX_NS}}}fault/{{{TAX_NS}}}faultCode") == "TaxpayerNotFound"
    assert wrapper.findtext(f"{{{TAX_NS}}}fault/{{{TAX_NS}}}faultString")
    schema.validate(etree.tostring(wrapper, encoding="unicode"))


@pytest.mark.parametrize("kind", ["never filed", "in arrears", "suspended"])
def test_varied_seeded_answers_are_valid_against_the_wsdl(
    tax: TestClient, schema: xmlschema.XMLSchema, kind: str
) -> None:
    """Taxpayers who never filed, owe arrears or are suspended give schema-valid answers."""
    row = next(
        r
        for r in seed.generate()
        if {
            "never filed": r.last_filing_date is None,
            "in arrears": r.arrears_mnt > 0,
            "suspended": r.status == "suspended",
        }[kind]
    )
    _, response = post_soap(tax, envelope(argument=("registerNumber", row.register_number)))
    wrapper = body_of(response)
    schema.validate(etree.tostring(wrapper, encoding="unicode"))
    record = record_of(wrapper, "taxStatus")
    rest = tax.get(f"/tax-status/{row.register_number}").json()
    if kind == "never filed":
        assert "lastFilingDate" not in record
        assert rest["last_filing_date"] is None  # disclosed, but empty
    assert record["arrearsMnt"] == str(rest["arrears_mnt"]) == str(row.arrears_mnt)
    assert record["status"] == rest["status"] == row.status
