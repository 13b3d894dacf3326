"""The vehicle registry adapter answers malformed, hostile and oversized requests with faults."""

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from civil_soap import LIMITS, fault_code
from fastapi.testclient import TestClient
from lxml import etree
from vehicle_soap import DEMO, DEMO_PLATE, envelope, post_soap, vehicle_settings

from adapters.vehicle import create_app, service
from xroad.messages.xml import SOAP_ENV_NS, parse_untrusted


@pytest.fixture(scope="module")
def vehicles(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(vehicle_settings(tmp_path_factory.mktemp("vehicle") / "vehicle.db"))
    with TestClient(app) as test_client:
        yield test_client


MALFORMED_PLATES = [
    "1234 УБА",  # as painted on the plate, with a space
    "1234YBA",  # Latin look-alikes
    "1234уба",  # lower case
    "123УБА",  # three digits
    "12345УБА",
    "1234УБ",
    "1234ЯЯА",  # no such region code
    "x" * 5000,
]
MALFORMED_NUMBERS = ["УБ9911223", "UB99112233", "уб99112233", "УБ99132233", ""]


@pytest.mark.parametrize("plate", MALFORMED_PLATES)
def test_rest_malformed_plate(vehicles: TestClient, plate: str) -> None:
    response = vehicles.get(f"/vehicles/{quote(plate)}")
    assert response.status_code == 400
    assert response.json()["type"] == "InvalidPlateNumber"
    assert len(response.json()["message"]) < 200  # the value is quoted back truncated


@pytest.mark.parametrize("number", MALFORMED_NUMBERS)
def test_rest_malformed_owner(vehicles: TestClient, number: str) -> None:
    response = vehicles.get("/vehicles", params={"owner": number})
    assert response.status_code == 400
    assert response.json()["type"] == "InvalidRegisterNumber"


def test_rest_missing_owner(vehicles: TestClient) -> None:
    response = vehicles.get("/vehicles")
    assert response.status_code == 400
    assert response.json()["type"] == "InvalidRequest"
    assert "owner" in response.json()["message"]


@pytest.mark.parametrize("header", ["MN/GOV", "MN/GOV/EMONGOLIA/portal/extra", "MN/GOV/E M/x"])
def test_rest_unreadable_client_header(vehicles: TestClient, header: str) -> None:
    response = vehicles.get(f"/vehicles/{quote(DEMO_PLATE)}", headers={"X-Road-Client": header})
    assert response.status_code == 400
    assert response.json()["type"] == "InvalidClient"


@pytest.mark.parametrize(
    ("service_code", "value", "code"),
    [
        ("getVehicleByPlate", "1234YBA", "Client.InvalidPlateNumber"),
        ("getVehicleByPlate", "1234ЯЯА", "Client.InvalidPlateNumber"),
        ("getVehicleByPlate", None, "Client.InvalidRequest"),
        ("getVehiclesByOwner", "УБ99132233", "Client.InvalidRegisterNumber"),
        ("getVehiclesByOwner", None, "Client.InvalidRequest"),
    ],
)
def test_soap_malformed_argument(
    vehicles: TestClient, service_code: str, value: str | None, code: str
) -> None:
    status, response = post_soap(vehicles, envelope(service_code, value))
    assert status == 500
    assert fault_code(response) == code
    assert response.findtext(f".//{{{SOAP_ENV_NS}}}Fault/faultactor") == ""
    assert response.findtext(f".//{{{SOAP_ENV_NS}}}Fault/detail/faultDetail")
    assert response.find(f"{{{SOAP_ENV_NS}}}Header") is not None  # headers parsed, so echoed


def test_soap_unreadable_client_header(vehicles: TestClient) -> None:
    data = envelope().replace(b'objectType="SUBSYSTEM"', b'objectType="MEMBER"', 1)
    status, response = post_soap(vehicles, data)
    assert status == 500
    assert fault_code(response) == "Client.InvalidClient"


def test_soap_malformed_xml(vehicles: TestClient) -> None:
    status, response = post_soap(vehicles, envelope()[:-20])
    assert status == 500
    assert fault_code(response) == "Client"


XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>
<v:getVehicleByPlate xmlns:v="http://vehicle.gov.mn/xroad"><v:plateNumber>&xxe;</v:plateNumber>
</v:getVehicleByPlate></e:Body></e:Envelope>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>
<v:getVehiclesByOwner xmlns:v="http://vehicle.gov.mn/xroad"><v:registerNumber>&lol3;
</v:registerNumber></v:getVehiclesByOwner></e:Body></e:Envelope>"""


@pytest.mark.parametrize(
    "data",
    [
        XXE_FILE,
        BILLION_LAUGHS,
        XXE_FILE.decode().replace('"1.0"?>', '"1.0" encoding="UTF-16"?>', 1).encode("utf-16"),
    ],
    ids=["external-entity", "entity-expansion", "utf16-doctype"],
)
def test_soap_doctype_and_entities_are_refused(vehicles: TestClient, data: bytes) -> None:
    status, response = post_soap(vehicles, data)
    assert status == 500
    assert fault_code(response) == "Client"
    assert b"root:" not in etree.tostring(response)
    assert b"lollol" not in etree.tostring(response)


def test_soap_oversized_body(vehicles: TestClient) -> None:
    padding = b"<!--" + b"x" * (1024 * 1024) + b"-->"
    status, response = post_soap(
        vehicles, envelope().replace(b"<soapenv:Body>", padding + b"<soapenv:Body>")
    )
    assert status == 500
    assert fault_code(response) == "Client"
    assert "larger than" in (response.findtext(f".//{{{SOAP_ENV_NS}}}Fault/faultstring") or "")


def test_soap_oversized_stream_without_content_length(vehicles: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b" " * 65536

    response = vehicles.post("/soap", content=chunks(), headers={"Content-Type": "text/xml"})
    assert response.status_code == 500
    assert fault_code(parse_untrusted(response.content, LIMITS)) == "Client"


def test_soap_smaller_limit_from_settings(tmp_path: Path) -> None:
    settings = vehicle_settings(tmp_path / "v.db", max_soap_bytes=512)
    with TestClient(create_app(settings)) as small:
        status, response = post_soap(small, envelope())
    assert status == 500
    assert fault_code(response) == "Client"


@pytest.mark.parametrize(
    "data",
    [
        envelope("getPerson"),  # a civil registry service
        envelope(body_ns="http://civil.gov.mn/xroad"),  # right name, wrong namespace
        envelope().replace(
            b"<id:serviceCode>getVehiclesByOwner", b"<id:serviceCode>getVehicleByPlate"
        ),
    ],
    ids=["unknown-code", "wrong-namespace", "header-body-mismatch"],
)
def test_soap_unknown_service(vehicles: TestClient, data: bytes) -> None:
    status, response = post_soap(vehicles, data)
    assert status == 500
    assert fault_code(response) == "Client"


def test_soap_attachments_are_refused(vehicles: TestClient) -> None:
    response = vehicles.post(
        "/soap", content=envelope(), headers={"Content-Type": "multipart/related; boundary=x"}
    )
    assert response.status_code == 500
    assert fault_code(parse_untrusted(response.content, LIMITS)) == "Client"


def test_bugs_never_reach_the_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("secret table layout")

    monkeypatch.setattr(service, "get_vehicles_by_owner", broken)
    app = create_app(vehicle_settings(tmp_path / "v.db"))
    with TestClient(app, raise_server_exceptions=False) as failing:
        rest = failing.get("/vehicles", params={"owner": DEMO})
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
