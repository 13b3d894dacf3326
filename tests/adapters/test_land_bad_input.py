"""The land registry adapter answers malformed, hostile and oversized requests with faults."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from civil_soap import fault_code, post_soap
from fastapi.testclient import TestClient
from land_soap import DEMO, LIMITS, envelope, land_settings
from lxml import etree

from adapters.land import LandRegistrySettings, create_app, service
from xroad.messages.xml import SOAP_ENV_NS, parse_untrusted


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(land_settings(tmp_path_factory.mktemp("land") / "land.db"))
    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (envelope(value="УБ99133233"), "Client.InvalidRegisterNumber"),
        (envelope(value="UB99112233"), "Client.InvalidRegisterNumber"),
        (envelope("getParcel", "01-01-0001"), "Client.InvalidParcelId"),
        (envelope("getParcel", DEMO), "Client.InvalidParcelId"),
        (envelope(value=None), "Client.InvalidRequest"),
        (envelope("getParcel", None), "Client.InvalidRequest"),
    ],
    ids=["bad-date", "latin-letters", "dashes", "register-number", "no-owner", "no-parcel-id"],
)
def test_soap_malformed_input(client: TestClient, data: bytes, code: str) -> None:
    status, response = post_soap(client, data)
    assert status == 500
    assert fault_code(response) == code
    assert response.findtext(f".//{{{SOAP_ENV_NS}}}Fault/faultactor") == ""
    assert response.findtext(f".//{{{SOAP_ENV_NS}}}Fault/detail/faultDetail")
    assert response.find(f"{{{SOAP_ENV_NS}}}Header") is not None  # headers parsed, so echoed


def test_soap_malformed_xml(client: TestClient) -> None:
    status, response = post_soap(client, envelope()[:-20])
    assert status == 500
    assert fault_code(response) == "Client"


def test_soap_not_an_envelope(client: TestClient) -> None:
    data = b"<getParcel><parcelId>0101000001</parcelId></getParcel>"
    status, response = post_soap(client, data)
    assert status == 500
    assert fault_code(response) == "Client"


XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>
<l:getParcelsByOwner xmlns:l="http://land.gov.mn/xroad"><l:registerNumber>&xxe;</l:registerNumber>
</l:getParcelsByOwner></e:Body></e:Envelope>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>
<l:getParcel xmlns:l="http://land.gov.mn/xroad"><l:parcelId>&lol3;</l:parcelId>
</l:getParcel></e:Body></e:Envelope>"""


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
    assert b"lollol" not in etree.tostring(response)


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
    settings = LandRegistrySettings(
        database_url=f"sqlite:///{tmp_path / 'l.db'}", max_soap_bytes=512
    )
    with TestClient(create_app(settings)) as small:
        status, response = post_soap(small, envelope())
    assert status == 500
    assert fault_code(response) == "Client"


@pytest.mark.parametrize(
    "data",
    [
        envelope("getPerson"),  # a civil registry service
        envelope(body_ns="http://civil.gov.mn/xroad"),  # right name, wrong namespace
        envelope().replace(b"<id:serviceCode>getParcelsByOwner", b"<id:serviceCode>getParcel"),
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

    monkeypatch.setattr(service, "parcels_of", broken)
    app = create_app(land_settings(tmp_path / "l.db"))
    with TestClient(app, raise_server_exceptions=False) as failing:
        rest = failing.get("/parcels", params={"owner": DEMO})
        soap = failing.post("/soap", content=envelope(), headers={"Content-Type": "text/xml"})
    assert rest.status_code == 500
    assert rest.json()["type"] == "InternalError"
    assert "fault id" in rest.json()["message"]
    assert "secret" not in rest.text
    assert "Traceback" not in rest.text
    assert soap.status_code == 500
    answer = parse_untrusted(soap.content, LIMITS)
    assert fault_code(answer) == "Server"
    assert answer.findtext(f".//{{{SOAP_ENV_NS}}}Fault/detail/faultDetail")
    assert b"secret" not in soap.content
