"""The civil registry adapter answers malformed, hostile and oversized requests with faults."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from civil_soap import (
    DEMO,
    LIMITS,
    civil_settings,
    envelope,
    fault_code,
    post_soap,
)
from fastapi.testclient import TestClient
from lxml import etree

from adapters.civil import CivilRegistrySettings, create_app, service
from xroad.messages.xml import SOAP_ENV_NS, parse_untrusted


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
    app = create_app(civil_settings(tmp_path / "c.db"))
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
