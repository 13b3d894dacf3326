"""Every registry adapter answers malformed, hostile and oversized requests with faults.

One table of registries, the same hostile vectors for each: a new registry is one more row.
"""

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote

import pytest
from civil_soap import CIVIL_NS, civil_settings
from civil_soap import envelope as civil_envelope
from fastapi import FastAPI
from fastapi.testclient import TestClient
from land_soap import LAND_NS, land_settings
from land_soap import envelope as land_envelope
from lxml import etree
from tax_soap import TAX_NS, tax_settings
from tax_soap import envelope as tax_envelope
from vehicle_soap import DEMO_PLATE, VEHICLE_NS, vehicle_settings
from vehicle_soap import envelope as vehicle_envelope
from xroad_soap import DEMO, LIMITS, fault_code, post_soap

import adapters.civil
import adapters.civil.service
import adapters.land
import adapters.land.service
import adapters.tax
import adapters.tax.service
import adapters.vehicle
import adapters.vehicle.service
from xroad.messages.xml import SOAP_ENV_NS, parse_untrusted


@dataclass(frozen=True)
class Registry:
    name: str
    settings: Callable[..., Any]  # (database path, **overrides) -> the registry's settings
    create_app: Callable[[Any], FastAPI]
    envelope: Callable[..., bytes]  # a well-formed request to `service_code` by default
    namespace: str
    service_code: str
    other_service_code: str  # this registry's other SOAP service
    foreign: tuple[str, str]  # another registry's service code and namespace
    xxe: tuple[str, str]  # service code and argument the hostile bodies use
    laughs: tuple[str, str]
    service: ModuleType
    lookup: str  # the function of `service` both default requests call
    rest_url: str  # a REST request to the default service

    def __str__(self) -> str:
        return self.name


CIVIL = Registry(
    "civil", civil_settings, adapters.civil.create_app, civil_envelope, CIVIL_NS,
    "getPerson", "getFamily", ("getVehicle", LAND_NS), ("getPerson", "registerNumber"),
    ("getPerson", "registerNumber"), adapters.civil.service, "get_person", f"/persons/{DEMO}",
)
LAND = Registry(
    "land", land_settings, adapters.land.create_app, land_envelope, LAND_NS,
    "getParcelsByOwner", "getParcel", ("getPerson", CIVIL_NS),
    ("getParcelsByOwner", "registerNumber"), ("getParcel", "parcelId"), adapters.land.service,
    "parcels_of", f"/parcels?owner={DEMO}",
)
VEHICLE = Registry(
    "vehicle", vehicle_settings, adapters.vehicle.create_app, vehicle_envelope, VEHICLE_NS,
    "getVehiclesByOwner", "getVehicleByPlate", ("getPerson", CIVIL_NS),
    ("getVehicleByPlate", "plateNumber"), ("getVehiclesByOwner", "registerNumber"),
    adapters.vehicle.service, "get_vehicles_by_owner", f"/vehicles?owner={DEMO}",
)
TAX = Registry(
    "tax", tax_settings, adapters.tax.create_app, tax_envelope, TAX_NS,
    "getTaxStatus", "getTaxpayer", ("getPerson", CIVIL_NS),
    ("getTaxStatus", "registerNumber"), ("getTaxStatus", "registerNumber"), adapters.tax.service,
    "get_tax_status", f"/tax-status/{DEMO}",
)
REGISTRIES = [CIVIL, LAND, VEHICLE, TAX]
each_registry = pytest.mark.parametrize("registry", REGISTRIES, ids=str)
Clients = Callable[[Registry], TestClient]


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clients]:
    """Each registry's app, started on first use and shared by the module's tests."""
    started: dict[str, TestClient] = {}
    with ExitStack() as stack:

        def client(registry: Registry) -> TestClient:
            if registry.name not in started:
                path = tmp_path_factory.mktemp(registry.name) / f"{registry.name}.db"
                app = registry.create_app(registry.settings(path))
                started[registry.name] = stack.enter_context(TestClient(app))
            return started[registry.name]

        yield client


def _assert_client_fault(response: etree._Element, code: str) -> None:
    assert fault_code(response) == code
    assert response.findtext(f".//{{{SOAP_ENV_NS}}}Fault/faultactor") == ""
    assert response.findtext(f".//{{{SOAP_ENV_NS}}}Fault/detail/faultDetail")
    assert response.find(f"{{{SOAP_ENV_NS}}}Header") is not None  # headers parsed, so echoed


# SOAP: malformed arguments, each registry's own vectors

MALFORMED_ARGUMENTS = [
    (CIVIL, civil_envelope(register_number="УБ99133233"), "Client.InvalidRegisterNumber"),
    (CIVIL, civil_envelope(register_number=None), "Client.InvalidRequest"),
    (LAND, land_envelope(value="УБ99133233"), "Client.InvalidRegisterNumber"),
    (LAND, land_envelope(value="UB99112233"), "Client.InvalidRegisterNumber"),
    (LAND, land_envelope("getParcel", "01-01-0001"), "Client.InvalidParcelId"),
    (LAND, land_envelope("getParcel", DEMO), "Client.InvalidParcelId"),
    (LAND, land_envelope(value=None), "Client.InvalidRequest"),
    (LAND, land_envelope("getParcel", None), "Client.InvalidRequest"),
    (VEHICLE, vehicle_envelope("getVehicleByPlate", "1234YBA"), "Client.InvalidPlateNumber"),
    (VEHICLE, vehicle_envelope("getVehicleByPlate", "1234ЯЯА"), "Client.InvalidPlateNumber"),
    (VEHICLE, vehicle_envelope("getVehicleByPlate", None), "Client.InvalidRequest"),
    (VEHICLE, vehicle_envelope(value="УБ99132233"), "Client.InvalidRegisterNumber"),
    (VEHICLE, vehicle_envelope(value=None), "Client.InvalidRequest"),
    (TAX, tax_envelope(argument=("registerNumber", "УБ99133233")), "Client.InvalidRegisterNumber"),
    (TAX, tax_envelope(argument=("registerNumber", "220299112233")),
     "Client.InvalidRegisterNumber"),
    (TAX, tax_envelope("getTaxpayer", ("tin", "2202991122")), "Client.InvalidTin"),
    (TAX, tax_envelope("getTaxpayer", ("tin", DEMO)), "Client.InvalidTin"),
    (TAX, tax_envelope(argument=None), "Client.InvalidRequest"),
    (TAX, tax_envelope("getTaxpayer", ("registerNumber", DEMO)), "Client.InvalidRequest"),
]
MALFORMED_IDS = [
    "civil-bad-date", "civil-missing",
    "land-bad-date", "land-latin-letters", "land-dashes", "land-register-number-as-parcel",
    "land-no-owner", "land-no-parcel-id",
    "vehicle-latin-plate", "vehicle-unknown-region", "vehicle-no-plate", "vehicle-bad-date",
    "vehicle-no-owner",
    "tax-bad-date", "tax-tin-as-register-number", "tax-short-tin",
    "tax-register-number-as-tin", "tax-missing-argument", "tax-wrong-argument",
]


@pytest.mark.parametrize(("registry", "data", "code"), MALFORMED_ARGUMENTS, ids=MALFORMED_IDS)
def test_soap_malformed_argument(
    clients: Clients, registry: Registry, data: bytes, code: str
) -> None:
    status, response = post_soap(clients(registry), data)
    assert status == 500
    _assert_client_fault(response, code)


# SOAP: the client the security server names

SOAP_CLIENT_DAMAGE = {
    "member-with-subsystem": (b'objectType="SUBSYSTEM"', b'objectType="MEMBER"'),
    "space-in-member-code": (b"<id:memberCode>EMONGOLIA<", b"<id:memberCode>E MONGOLIA<"),
}


@each_registry
@pytest.mark.parametrize("damage", SOAP_CLIENT_DAMAGE.values(), ids=SOAP_CLIENT_DAMAGE.keys())
def test_soap_malformed_client_header(
    clients: Clients, registry: Registry, damage: tuple[bytes, bytes]
) -> None:
    data = registry.envelope().replace(*damage, 1)
    status, response = post_soap(clients(registry), data)
    assert status == 500
    _assert_client_fault(response, "Client.InvalidClientIdentifier")


# SOAP: envelopes that are not X-Road requests at all


@each_registry
def test_soap_malformed_xml(clients: Clients, registry: Registry) -> None:
    status, response = post_soap(clients(registry), registry.envelope()[:-20])
    assert status == 500
    assert fault_code(response) == "Client"


@each_registry
def test_soap_not_an_envelope(clients: Clients, registry: Registry) -> None:
    service, argument = registry.xxe
    data = f"<{service}><{argument}>x</{argument}></{service}>".encode()
    status, response = post_soap(clients(registry), data)
    assert status == 500
    assert fault_code(response) == "Client"


def _xxe(registry: Registry) -> bytes:
    service, argument = registry.xxe
    return f"""<?xml version="1.0"?>
<!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>
<r:{service} xmlns:r="{registry.namespace}"><r:{argument}>&xxe;</r:{argument}>
</r:{service}></e:Body></e:Envelope>""".encode()


def _billion_laughs(registry: Registry) -> bytes:
    service, argument = registry.laughs
    return f"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>
<r:{service} xmlns:r="{registry.namespace}"><r:{argument}>&lol3;</r:{argument}>
</r:{service}></e:Body></e:Envelope>""".encode()


def _utf16_doctype(registry: Registry) -> bytes:
    text = _xxe(registry).decode()
    return text.replace('"1.0"?>', '"1.0" encoding="UTF-16"?>', 1).encode("utf-16")


HOSTILE = {
    "external-entity": _xxe,
    "entity-expansion": _billion_laughs,
    "utf16-doctype": _utf16_doctype,
}


@each_registry
@pytest.mark.parametrize("hostile", HOSTILE.values(), ids=HOSTILE.keys())
def test_soap_doctype_and_entities_are_refused(
    clients: Clients, registry: Registry, hostile: Callable[[Registry], bytes]
) -> None:
    status, response = post_soap(clients(registry), hostile(registry))
    assert status == 500
    assert fault_code(response) == "Client"
    assert b"root:" not in etree.tostring(response)
    assert b"lollol" not in etree.tostring(response)


@each_registry
def test_soap_oversized_body(clients: Clients, registry: Registry) -> None:
    padding = b"<!--" + b"x" * (1024 * 1024) + b"-->"
    data = registry.envelope().replace(b"<soapenv:Body>", padding + b"<soapenv:Body>")
    status, response = post_soap(clients(registry), data)
    assert status == 500
    assert fault_code(response) == "Client"
    assert "larger than" in (response.findtext(f".//{{{SOAP_ENV_NS}}}Fault/faultstring") or "")


@each_registry
def test_soap_oversized_stream_without_content_length(
    clients: Clients, registry: Registry
) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b" " * 65536

    response = clients(registry).post(
        "/soap", content=chunks(), headers={"Content-Type": "text/xml"}
    )
    assert response.status_code == 500
    assert fault_code(parse_untrusted(response.content, LIMITS)) == "Client"


@each_registry
def test_soap_smaller_limit_from_settings(tmp_path: Path, registry: Registry) -> None:
    settings = registry.settings(tmp_path / "r.db", max_soap_bytes=512)
    with TestClient(registry.create_app(settings)) as small:
        status, response = post_soap(small, registry.envelope())
    assert status == 500
    assert fault_code(response) == "Client"


def _unknown_services(registry: Registry) -> dict[str, bytes]:
    foreign_code, foreign_namespace = registry.foreign
    declared = f"<id:serviceCode>{registry.service_code}".encode()
    return {
        "unknown-code": registry.envelope(foreign_code),
        "wrong-namespace": registry.envelope(body_ns=foreign_namespace),
        "header-body-mismatch": registry.envelope().replace(
            declared, f"<id:serviceCode>{registry.other_service_code}".encode()
        ),
    }


@each_registry
@pytest.mark.parametrize("case", ["unknown-code", "wrong-namespace", "header-body-mismatch"])
def test_soap_unknown_service(clients: Clients, registry: Registry, case: str) -> None:
    status, response = post_soap(clients(registry), _unknown_services(registry)[case])
    assert status == 500
    assert fault_code(response) == "Client"


@each_registry
def test_soap_attachments_are_refused(clients: Clients, registry: Registry) -> None:
    response = clients(registry).post(
        "/soap",
        content=registry.envelope(),
        headers={"Content-Type": "multipart/related; boundary=x"},
    )
    assert response.status_code == 500
    assert fault_code(parse_untrusted(response.content, LIMITS)) == "Client"


# REST


MALFORMED_CLIENTS = [
    "MN/GOV",
    "MN/GOV/MTA/tax/extra",
    "MN/GOV/EMONGOLIA/portal/extra",
    "MN/GOV/ALAM GAC/land",
    "MN/GOV/E M/x",
]


@each_registry
@pytest.mark.parametrize("header", MALFORMED_CLIENTS)
def test_rest_malformed_client_header(clients: Clients, registry: Registry, header: str) -> None:
    response = clients(registry).get(registry.rest_url, headers={"X-Road-Client": header})
    assert response.status_code == 400
    assert response.json()["type"] == "InvalidClientIdentifier"


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


@pytest.mark.parametrize("plate", MALFORMED_PLATES)
def test_rest_malformed_plate(clients: Clients, plate: str) -> None:
    response = clients(VEHICLE).get(f"/vehicles/{quote(plate)}")
    assert response.status_code == 400
    assert response.json()["type"] == "InvalidPlateNumber"
    assert len(response.json()["message"]) < 200  # the value is quoted back truncated


@pytest.mark.parametrize("number", ["УБ9911223", "UB99112233", "уб99112233", "УБ99132233", ""])
def test_rest_malformed_owner(clients: Clients, number: str) -> None:
    response = clients(VEHICLE).get("/vehicles", params={"owner": number})
    assert response.status_code == 400
    assert response.json()["type"] == "InvalidRegisterNumber"


def test_rest_missing_owner(clients: Clients) -> None:
    response = clients(VEHICLE).get("/vehicles")
    assert response.status_code == 400
    assert response.json()["type"] == "InvalidRequest"
    assert "owner" in response.json()["message"]


def test_rest_plate_lookup_with_malformed_client(clients: Clients) -> None:
    response = clients(VEHICLE).get(
        f"/vehicles/{quote(DEMO_PLATE)}", headers={"X-Road-Client": "MN/GOV"}
    )
    assert response.status_code == 400
    assert response.json()["type"] == "InvalidClientIdentifier"


def test_rest_oversized_path_is_refused_briefly(clients: Clients) -> None:
    response = clients(TAX).get("/taxpayers/" + "9" * 5000)
    assert response.status_code == 400
    assert len(response.text) < 300


# Unexpected failures


@each_registry
def test_bugs_never_reach_the_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registry: Registry
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("secret table layout")

    monkeypatch.setattr(registry.service, registry.lookup, broken)
    app = registry.create_app(registry.settings(tmp_path / "r.db"))
    with TestClient(app, raise_server_exceptions=False) as failing:
        rest = failing.get(registry.rest_url)
        soap = failing.post(
            "/soap", content=registry.envelope(), headers={"Content-Type": "text/xml"}
        )
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
