"""The civil registry adapter over HTTP: REST, X-Road SOAP, WSDL."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import xmlschema
from fastapi.testclient import TestClient
from lxml import etree

import schemas
from adapters.civil import CivilRegistrySettings, create_app, service
from xroad.limits import Limits
from xroad.messages.xml import IDENTIFIERS_NS, SOAP_ENV_NS, XROAD_NS, parse_untrusted

CIVIL_NS = "http://civil.gov.mn/xroad"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
DEMO = "УБ99112233"
NOBODY = "УБ00010100"  # 1900-01-01: valid, but the seed data has nobody born before 1940
LIMITS = Limits()


def _settings(path: Path) -> CivilRegistrySettings:
    return CivilRegistrySettings(database_url=f"sqlite:///{path}")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(_settings(tmp_path_factory.mktemp("civil") / "civil.db"))
    with TestClient(app) as test_client:
        yield test_client


def envelope(
    service_code: str = "getPerson",
    register_number: str | None = DEMO,
    *,
    env: str = "soapenv",
    xrd: str = "xrd",
    iden: str = "id",
    body_ns: str = CIVIL_NS,
) -> bytes:
    """An X-Road SOAP 4.0 request as a client's security server forwards it."""
    number = (
        "" if register_number is None else f"<c:registerNumber>{register_number}</c:registerNumber>"
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<{env}:Envelope xmlns:{env}="{SOAP_ENV_NS}"
    xmlns:{xrd}="{XROAD_NS}" xmlns:{iden}="{IDENTIFIERS_NS}">
  <{env}:Header>
    <{xrd}:client {iden}:objectType="SUBSYSTEM">
      <{iden}:xRoadInstance>MN</{iden}:xRoadInstance>
      <{iden}:memberClass>GOV</{iden}:memberClass>
      <{iden}:memberCode>EMONGOLIA</{iden}:memberCode>
      <{iden}:subsystemCode>portal</{iden}:subsystemCode>
    </{xrd}:client>
    <{xrd}:service {iden}:objectType="SERVICE">
      <{iden}:xRoadInstance>MN</{iden}:xRoadInstance>
      <{iden}:memberClass>GOV</{iden}:memberClass>
      <{iden}:memberCode>GASR</{iden}:memberCode>
      <{iden}:subsystemCode>civil-registry</{iden}:subsystemCode>
      <{iden}:serviceCode>{service_code}</{iden}:serviceCode>
      <{iden}:serviceVersion>v1</{iden}:serviceVersion>
    </{xrd}:service>
    <{xrd}:id>6a0b9c1e-3f7d-4e55-9b1e-2d4c8f0a7e21</{xrd}:id>
    <{xrd}:userId>MN99112233</{xrd}:userId>
    <{xrd}:issue>портал: иргэний лавлагаа</{xrd}:issue>
    <{xrd}:protocolVersion>4.0</{xrd}:protocolVersion>
  </{env}:Header>
  <{env}:Body>
    <c:{service_code} xmlns:c="{body_ns}">{number}</c:{service_code}>
  </{env}:Body>
</{env}:Envelope>""".encode()


def post_soap(client: TestClient, data: bytes) -> tuple[int, etree._Element]:
    response = client.post("/soap", content=data, headers={"Content-Type": "text/xml"})
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    return response.status_code, parse_untrusted(response.content, LIMITS)


def body_of(envelope_root: etree._Element) -> etree._Element:
    body = envelope_root.find(f"{{{SOAP_ENV_NS}}}Body")
    assert body is not None
    assert len(body) == 1
    return body[0]


def fault_code(envelope_root: etree._Element) -> str | None:
    return envelope_root.findtext(f"{{{SOAP_ENV_NS}}}Body/{{{SOAP_ENV_NS}}}Fault/faultcode")


def exc14n(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True, with_tail=False)


@pytest.fixture(scope="module")
def response_schema() -> xmlschema.XMLSchema:
    """The WSDL's types schema, without the X-Road header import the body does not use."""
    wsdl = parse_untrusted(schemas.path("civil", "civil-registry.wsdl").read_bytes(), LIMITS)
    schema = wsdl.find(f"{{{WSDL_NS}}}types/{{{XSD_NS}}}schema")
    assert schema is not None
    for imported in schema.findall(f"{{{XSD_NS}}}import"):
        schema.remove(imported)
    return xmlschema.XMLSchema(etree.tostring(schema, encoding="unicode"))


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


def test_soap_malformed_register_number(client: TestClient) -> None:
    status, response = post_soap(client, envelope(register_number="УБ99133233"))
    assert status == 500
    assert fault_code(response) == "Client.InvalidRegisterNumber"
    assert response.findtext(f".//{{{SOAP_ENV_NS}}}Fault/faultactor") == ""
    assert response.findtext(f".//{{{SOAP_ENV_NS}}}Fault/detail/faultDetail")
    assert response.find(f"{{{SOAP_ENV_NS}}}Header") is not None  # headers parsed, so echoed


def test_soap_missing_register_number(client: TestClient) -> None:
    status, response = post_soap(client, envelope(register_number=None))
    assert status == 500
    assert fault_code(response) == "Client.InvalidRequest"


def test_soap_malformed_xml(client: TestClient) -> None:
    status, response = post_soap(client, envelope()[:-20])
    assert status == 500
    assert fault_code(response) == "Client"


def test_soap_not_an_envelope(client: TestClient) -> None:
    status, response = post_soap(
        client, b"<getPerson><registerNumber>x</registerNumber></getPerson>"
    )
    assert status == 500
    assert fault_code(response) == "Client"


XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>
<c:getPerson xmlns:c="http://civil.gov.mn/xroad"><c:registerNumber>&xxe;</c:registerNumber>
</c:getPerson></e:Body></e:Envelope>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>
<c:getPerson xmlns:c="http://civil.gov.mn/xroad"><c:registerNumber>&lol3;</c:registerNumber>
</c:getPerson></e:Body></e:Envelope>"""


@pytest.mark.parametrize(
    "data",
    [
        XXE_FILE,
        BILLION_LAUGHS,
        XXE_FILE.decode().replace('"1.0"?>', '"1.0" encoding="UTF-16"?>', 1).encode("utf-16"),
    ],
    ids=["external-entity", "entity-expansion", "utf16-doctype"],
)
def test_soap_doctype_and_entities_are_refused(client: TestClient, data: bytes) -> None:
    status, response = post_soap(client, data)
    assert status == 500
    assert fault_code(response) == "Client"
    assert b"root:" not in etree.tostring(response)


def test_soap_oversized_body(client: TestClient) -> None:
    padding = b"<!--" + b"x" * (1024 * 1024) + b"-->"
    status, response = post_soap(
        client, envelope().replace(b"<soapenv:Body>", padding + b"<soapenv:Body>")
    )
    assert status == 500
    assert fault_code(response) == "Client"
    assert "larger than" in (response.findtext(f".//{{{SOAP_ENV_NS}}}Fault/faultstring") or "")


def test_soap_oversized_stream_without_content_length(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b" " * 65536

    response = client.post("/soap", content=chunks(), headers={"Content-Type": "text/xml"})
    assert response.status_code == 500
    assert fault_code(parse_untrusted(response.content, LIMITS)) == "Client"


def test_soap_smaller_limit_from_settings(tmp_path: Path) -> None:
    settings = CivilRegistrySettings(
        database_url=f"sqlite:///{tmp_path / 'c.db'}", max_soap_bytes=512
    )
    with TestClient(create_app(settings)) as small:
        status, response = post_soap(small, envelope())
    assert status == 500
    assert fault_code(response) == "Client"


@pytest.mark.parametrize(
    "data",
    [
        envelope("getVehicle"),  # not a civil registry service
        envelope(body_ns="http://land.gov.mn/xroad"),  # right name, wrong namespace
        envelope().replace(b"<id:serviceCode>getPerson", b"<id:serviceCode>getFamily"),
    ],
    ids=["unknown-code", "wrong-namespace", "header-body-mismatch"],
)
def test_soap_unknown_service(client: TestClient, data: bytes) -> None:
    status, response = post_soap(client, data)
    assert status == 500
    assert fault_code(response) == "Client"


def test_soap_attachments_are_refused(client: TestClient) -> None:
    response = client.post(
        "/soap", content=envelope(), headers={"Content-Type": "multipart/related; boundary=x"}
    )
    assert response.status_code == 500
    assert fault_code(parse_untrusted(response.content, LIMITS)) == "Client"


# Unexpected failures


def test_bugs_never_reach_the_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("secret table layout")

    monkeypatch.setattr(service, "get_person", broken)
    app = create_app(_settings(tmp_path / "c.db"))
    with TestClient(app, raise_server_exceptions=False) as failing:
        rest = failing.get(f"/persons/{DEMO}")
        soap = failing.post("/soap", content=envelope(), headers={"Content-Type": "text/xml"})
    assert rest.status_code == 500
    assert rest.json()["type"] == "InternalError"
    assert "secret" not in rest.text
    assert "Traceback" not in rest.text
    assert soap.status_code == 500
    assert fault_code(parse_untrusted(soap.content, LIMITS)) == "Server"
    assert b"secret" not in soap.content

