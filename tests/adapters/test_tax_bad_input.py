"""The tax registry adapter answers malformed, hostile and oversized requests with faults."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from civil_soap import fault_code, post_soap
from fastapi.testclient import TestClient
from lxml import etree
from tax_soap import DEMO, LIMITS, envelope, tax_settings

from adapters.tax import create_app, service
from xroad.messages.xml import SOAP_ENV_NS, parse_untrusted


@pytest.fixture(scope="module")
def tax(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(tax_settings(tmp_path_factory.mktemp("tax") / "tax.db"))
    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("service_code", "argument", "code"),
    [
        ("getTaxStatus", ("registerNumber", "УБ99133233"), "Client.InvalidRegisterNumber"),
        ("getTaxStatus", ("registerNumber", "220299112233"), "Client.InvalidRegisterNumber"),
        ("getTaxpayer", ("tin", "2202991122"), "Client.InvalidTin"),
        ("getTaxpayer", ("tin", DEMO), "Client.InvalidTin"),
        ("getTaxStatus", None, "Client.InvalidRequest"),
        ("getTaxpayer", ("registerNumber", DEMO), "Client.InvalidRequest"),
    ],
    ids=[
        "bad-date",
        "tin-as-register-number",
        "short-tin",
        "register-number-as-tin",
        "missing-argument",
        "wrong-argument",
    ],
)
def test_soap_malformed_argument(
    tax: TestClient, service_code: str, argument: tuple[str, str] | None, code: str
) -> None:
    status, response = post_soap(tax, envelope(service_code, argument))
    assert status == 500
    assert fault_code(response) == code
    assert response.findtext(f".//{{{SOAP_ENV_NS}}}Fault/faultactor") == ""
    assert response.findtext(f".//{{{SOAP_ENV_NS}}}Fault/detail/faultDetail")
    assert response.find(f"{{{SOAP_ENV_NS}}}Header") is not None  # headers parsed, so echoed


def test_soap_malformed_client_header(tax: TestClient) -> None:
    data = envelope().replace(b"<id:memberCode>EMONGOLIA<", b"<id:memberCode>E MONGOLIA<")
    status, response = post_soap(tax, data)
    assert status == 500
    assert fault_code(response) == "Client"


def test_soap_malformed_xml(tax: TestClient) -> None:
    status, response = post_soap(tax, envelope()[:-20])
    assert status == 500
    assert fault_code(response) == "Client"


XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>
<t:getTaxStatus xmlns:t="http://tax.gov.mn/xroad"><t:registerNumber>&xxe;</t:registerNumber>
</t:getTaxStatus></e:Body></e:Envelope>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>
<t:getTaxStatus xmlns:t="http://tax.gov.mn/xroad"><t:registerNumber>&lol3;</t:registerNumber>
</t:getTaxStatus></e:Body></e:Envelope>"""


@pytest.mark.parametrize(
    "data",
    [
        XXE_FILE,
        BILLION_LAUGHS,
        XXE_FILE.decode().replace('"1.0"?>', '"1.0" encoding="UTF-16"?>', 1).encode("utf-16"),
    ],
    ids=["external-entity", "entity-expansion", "utf16-doctype"],
)
def test_soap_doctype_and_entities_are_refused(tax: TestClient, data: bytes) -> None:
    status, response = post_soap(tax, data)
    assert status == 500
    assert fault_code(response) == "Client"
    assert b"root:" not in etree.tostring(response)
    assert b"lollol" not in etree.tostring(response)


def test_soap_oversized_body(tax: TestClient) -> None:
    padding = b"<!--" + b"x" * (1024 * 1024) + b"-->"
    status, response = post_soap(
        tax, envelope().replace(b"<soapenv:Body>", padding + b"<soapenv:Body>")
    )
    assert status == 500
    assert fault_code(response) == "Client"
    assert "larger than" in (response.findtext(f".//{{{SOAP_ENV_NS}}}Fault/faultstring") or "")


def test_soap_oversized_stream_without_content_length(tax: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b" " * 65536

    response = tax.post("/soap", content=chunks(), headers={"Content-Type": "text/xml"})
    assert response.status_code == 500
    assert fault_code(parse_untrusted(response.content, LIMITS)) == "Client"


def test_soap_smaller_limit_from_settings(tmp_path: Path) -> None:
    with TestClient(create_app(tax_settings(tmp_path / "t.db", max_soap_bytes=512))) as small:
        status, response = post_soap(small, envelope())
    assert status == 500
    assert fault_code(response) == "Client"


@pytest.mark.parametrize(
    "data",
    [
        envelope("getPerson"),  # a civil registry service
        envelope(body_ns="http://civil.gov.mn/xroad"),  # right name, wrong namespace
        envelope().replace(b"<id:serviceCode>getTaxStatus", b"<id:serviceCode>getTaxpayer"),
    ],
    ids=["unknown-code", "wrong-namespace", "header-body-mismatch"],
)
def test_soap_unknown_service(tax: TestClient, data: bytes) -> None:
    status, response = post_soap(tax, data)
    assert status == 500
    assert fault_code(response) == "Client"


def test_soap_attachments_are_refused(tax: TestClient) -> None:
    response = tax.post(
        "/soap", content=envelope(), headers={"Content-Type": "multipart/related; boundary=x"}
    )
    assert response.status_code == 500
    assert fault_code(parse_untrusted(response.content, LIMITS)) == "Client"


@pytest.mark.parametrize("client", ["MN/GOV", "MN/GOV/MTA/tax/extra", "MN/GOV/ALAM GAC/land"])
def test_rest_malformed_client_header(tax: TestClient, client: str) -> None:
    response = tax.get(f"/tax-status/{DEMO}", headers={"X-Road-Client": client})
    assert response.status_code == 400
    assert response.json()["type"] == "InvalidRequest"


def test_rest_oversized_path_is_refused_briefly(tax: TestClient) -> None:
    response = tax.get("/taxpayers/" + "9" * 5000)
    assert response.status_code == 400
    assert len(response.text) < 300


# Unexpected failures


def test_bugs_never_reach_the_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("secret table layout")

    monkeypatch.setattr(service, "get_tax_status", broken)
    app = create_app(tax_settings(tmp_path / "t.db"))
    with TestClient(app, raise_server_exceptions=False) as failing:
        rest = failing.get(f"/tax-status/{DEMO}")
        soap = failing.post("/soap", content=envelope(), headers={"Content-Type": "text/xml"})
    assert rest.status_code == 500
    assert rest.json()["type"] == "InternalError"
    assert "fault id" in rest.json()["message"]
    assert "secret" not in rest.text
    assert "Traceback" not in rest.text
    assert soap.status_code == 500
    assert fault_code(parse_untrusted(soap.content, LIMITS)) == "Server"
    assert b"secret" not in soap.content
