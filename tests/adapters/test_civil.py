"""The civil registry adapter over HTTP: REST, X-Road SOAP, WSDL."""


import pytest
import xmlschema
import xroad_soap
from civil_soap import CIVIL_NS, envelope
from fastapi.testclient import TestClient
from lxml import etree
from xroad_soap import DEMO, LIMITS, NOBODY, WSDL_NS, body_of, exc14n, fault_code, post_soap

import schemas
from xroad.messages.xml import SOAP_ENV_NS, XROAD_NS, parse_untrusted


@pytest.fixture(scope="module")
def response_schema() -> xmlschema.XMLSchema:
    return xroad_soap.response_schema("civil", "civil-registry.wsdl")


def test_wsdl_carries_the_x_road_extensions() -> None:
    wsdl = parse_untrusted(schemas.path("civil", "civil-registry.wsdl").read_bytes(), LIMITS)
    header_parts = wsdl.findall(f"{{{WSDL_NS}}}message[@name='requestheader']/{{{WSDL_NS}}}part")
    assert {part.get("element") for part in header_parts} == {
        f"xrd:{name}" for name in ("client", "service", "id", "userId", "issue", "protocolVersion")
    }
    for operation in wsdl.findall(f"{{{WSDL_NS}}}binding/{{{WSDL_NS}}}operation"):
        assert operation.findtext(f"{{{XROAD_NS}}}version") == "v1"
    port_operations = wsdl.findall(f"{{{WSDL_NS}}}portType/{{{WSDL_NS}}}operation")
    assert {op.get("name") for op in port_operations} == {"getPerson", "getFamily"}
    for operation in port_operations:
        assert operation.find(f"{{{WSDL_NS}}}documentation/{{{XROAD_NS}}}title") is not None


# REST


def test_rest_person(client: TestClient) -> None:
    response = client.get(f"/persons/{DEMO}")
    assert response.status_code == 200
    assert response.json() == {
        "register_number": DEMO,
        "family_name": "Бат-Эрдэнэ",
        "given_name": "Болд",
        "clan_name": "Боржигин",
        "sex": "male",
        "birth_date": "1999-11-22",
        "birth_place": "Улаанбаатар",
        "citizenship": "MN",
        "address": {"aimag": "Улаанбаатар", "soum": "Баянзүрх дүүрэг", "bag": "3-р хороо"},
        "status": "alive",
    }


@pytest.mark.parametrize("number", ["УБ9911223", "UB99112233", "уб99112233", "УБ99132233"])
def test_rest_malformed_register_number(client: TestClient, number: str) -> None:
    response = client.get(f"/persons/{number}")
    assert response.status_code == 400
    assert response.json()["type"] == "InvalidRegisterNumber"
    assert response.json()["message"]


def test_rest_unknown_person(client: TestClient) -> None:
    response = client.get(f"/persons/{NOBODY}")
    assert response.status_code == 404
    assert response.json()["type"] == "PersonNotFound"


def test_rest_family(client: TestClient) -> None:
    response = client.get(f"/persons/{DEMO}/family")
    assert response.status_code == 200
    family = response.json()
    assert family["register_number"] == DEMO
    relatives = [
        (r["relation"], r["given_name"], r["register_number"]) for r in family["relatives"]
    ]
    assert relatives == [
        ("spouse", "Номин", "УБ01250846"),
        ("parent", "Бат-Эрдэнэ", "УБ72031517"),
        ("parent", "Сарангэрэл", "УБ74080924"),
        ("child", "Тэмүүлэн", "УБ23221415"),
    ]
    assert "address" not in family["relatives"][0]


def test_rest_family_of_child_names_the_parents(client: TestClient) -> None:
    son = client.get("/persons/УБ23221415/family").json()
    assert {(r["relation"], r["given_name"]) for r in son["relatives"]} == {
        ("parent", "Болд"),
        ("parent", "Номин"),
    }


def test_rest_family_errors(client: TestClient) -> None:
    assert client.get("/persons/XX/family").status_code == 400
    assert client.get(f"/persons/{NOBODY}/family").status_code == 404


def test_health_and_wsdl(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    wsdl = client.get("/wsdl")
    assert wsdl.status_code == 200
    assert wsdl.headers["content-type"].startswith("text/xml")
    assert b"getPerson" in wsdl.content


def test_openapi_describes_the_persons_service(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/persons/{register_number}", "/persons/{register_number}/family"} <= set(paths)


# SOAP


@pytest.mark.parametrize(
    "prefixes",
    [
        {"env": "soapenv", "xrd": "xrd", "iden": "id"},
        {"env": "SOAP-ENV", "xrd": "xroad", "iden": "iden"},
    ],
)
def test_soap_get_person_echoes_headers(client: TestClient, prefixes: dict[str, str]) -> None:
    request = envelope(**prefixes)
    status, response = post_soap(client, request)
    assert status == 200
    sent = parse_untrusted(request, LIMITS).find(f"{{{SOAP_ENV_NS}}}Header")
    echoed = response.find(f"{{{SOAP_ENV_NS}}}Header")
    assert sent is not None
    assert echoed is not None
    assert [exc14n(e) for e in echoed] == [exc14n(e) for e in sent if isinstance(e.tag, str)]
    assert [etree.QName(e).localname for e in echoed] == [
        "client",
        "service",
        "id",
        "userId",
        "issue",
        "protocolVersion",
    ]


def test_soap_get_person_answer(client: TestClient, response_schema: xmlschema.XMLSchema) -> None:
    _, response = post_soap(client, envelope())
    wrapper = body_of(response)
    assert wrapper.tag == f"{{{CIVIL_NS}}}getPersonResponse"
    person = wrapper.find(f"{{{CIVIL_NS}}}person")
    assert person is not None
    assert person.findtext(f"{{{CIVIL_NS}}}registerNumber") == DEMO
    assert person.findtext(f"{{{CIVIL_NS}}}givenName") == "Болд"
    assert person.findtext(f"{{{CIVIL_NS}}}address/{{{CIVIL_NS}}}soum") == "Баянзүрх дүүрэг"
    response_schema.validate(etree.tostring(wrapper, encoding="unicode"))


def test_soap_accepts_unqualified_register_number(client: TestClient) -> None:
    data = envelope().replace(b"c:registerNumber", b"registerNumber")
    status, response = post_soap(client, data)
    assert status == 200
    assert response.findtext(f".//{{{CIVIL_NS}}}givenName") == "Болд"


def test_soap_get_family(client: TestClient, response_schema: xmlschema.XMLSchema) -> None:
    status, response = post_soap(client, envelope("getFamily"))
    assert status == 200
    wrapper = body_of(response)
    assert wrapper.tag == f"{{{CIVIL_NS}}}getFamilyResponse"
    relations = wrapper.findall(f".//{{{CIVIL_NS}}}relation")
    assert [r.text for r in relations] == ["spouse", "parent", "parent", "child"]
    response_schema.validate(etree.tostring(wrapper, encoding="unicode"))


@pytest.mark.parametrize("service_code", ["getPerson", "getFamily"])
def test_soap_unknown_person_is_a_business_fault(
    client: TestClient, response_schema: xmlschema.XMLSchema, service_code: str
) -> None:
    status, response = post_soap(client, envelope(service_code, NOBODY))
    assert status == 200
    assert fault_code(response) is None
    wrapper = body_of(response)
    assert wrapper.findtext(f"{{{CIVIL_NS}}}fault/{{{CIVIL_NS}}}faultCode") == "PersonNotFound"
    assert wrapper.findtext(f"{{{CIVIL_NS}}}fault/{{{CIVIL_NS}}}faultString")
    response_schema.validate(etree.tostring(wrapper, encoding="unicode"))
