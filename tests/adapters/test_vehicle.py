"""The vehicle registry adapter over HTTP: REST, X-Road SOAP, WSDL, OpenAPI."""

from collections.abc import Iterator
from urllib.parse import quote

import pytest
import xmlschema
from fastapi.testclient import TestClient
from lxml import etree
from vehicle_soap import (
    DEMO_PLATE,
    NO_PLATE,
    VEHICLE_NS,
    envelope,
    response_schema,
    vehicle_settings,
)
from xroad_soap import (
    DEMO,
    LIMITS,
    NOBODY,
    WSDL_NS,
    body_of,
    child_names,
    exc14n,
    fault_code,
    post_soap,
)

import schemas
from adapters.vehicle import create_app
from xroad.messages.xml import SOAP_ENV_NS, XROAD_NS, parse_untrusted

DEMO_PRIUS = {
    "plate_number": DEMO_PLATE,
    "vin": "JTDKB20U3F0418207",
    "make": "Toyota",
    "model": "Prius",
    "year": 2015,
    "owner_register_number": DEMO,
    "registration_date": "2019-06-14",
    "inspection": {"status": "passed", "date": "2024-09-03"},
    "insurance": {"status": "valid", "valid_until": "2025-09-02"},
}
VEHICLE_ELEMENTS = [
    "plateNumber",
    "vin",
    "make",
    "model",
    "year",
    "ownerRegisterNumber",
    "registrationDate",
    "inspection",
    "insurance",
]


@pytest.fixture(scope="module")
def vehicles(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(vehicle_settings(tmp_path_factory.mktemp("vehicle") / "vehicle.db"))
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return response_schema()


def test_wsdl_carries_the_x_road_extensions() -> None:
    wsdl = parse_untrusted(schemas.path("vehicle", "vehicle-registry.wsdl").read_bytes(), LIMITS)
    header_parts = wsdl.findall(f"{{{WSDL_NS}}}message[@name='requestheader']/{{{WSDL_NS}}}part")
    assert {part.get("element") for part in header_parts} == {
        f"xrd:{name}" for name in ("client", "service", "id", "userId", "issue", "protocolVersion")
    }
    operations = wsdl.findall(f"{{{WSDL_NS}}}binding/{{{WSDL_NS}}}operation")
    assert {op.get("name") for op in operations} == {"getVehiclesByOwner", "getVehicleByPlate"}
    for operation in operations:
        assert operation.findtext(f"{{{XROAD_NS}}}version") == "v1"
    for operation in wsdl.findall(f"{{{WSDL_NS}}}portType/{{{WSDL_NS}}}operation"):
        assert operation.find(f"{{{WSDL_NS}}}documentation/{{{XROAD_NS}}}title") is not None


def test_wsdl_is_served(vehicles: TestClient) -> None:
    wsdl = vehicles.get("/wsdl")
    assert wsdl.status_code == 200
    assert wsdl.headers["content-type"].startswith("text/xml")
    root = parse_untrusted(wsdl.content, LIMITS)
    assert root.tag == f"{{{WSDL_NS}}}definitions"
    assert root.get("targetNamespace") == VEHICLE_NS


def test_health_and_openapi(vehicles: TestClient) -> None:
    assert vehicles.get("/health").json() == {"status": "ok"}
    spec = vehicles.get("/openapi.json").json()
    assert {"/vehicles", "/vehicles/{plate_number}"} <= set(spec["paths"])
    assert {"VehicleRecord", "OwnerVehicles", "ErrorBody"} <= set(spec["components"]["schemas"])


# REST


def test_rest_vehicles_of_the_demo_person(vehicles: TestClient) -> None:
    response = vehicles.get("/vehicles", params={"owner": DEMO})
    assert response.status_code == 200
    answer = response.json()
    assert answer["owner_register_number"] == DEMO
    assert [v["plate_number"] for v in answer["vehicles"]] == [DEMO_PLATE, "0718УНЕ"]
    assert answer["vehicles"][0] == DEMO_PRIUS
    assert answer["vehicles"][1]["insurance"]["status"] == "expired"


def test_rest_owner_without_vehicles_is_an_empty_list(vehicles: TestClient) -> None:
    response = vehicles.get("/vehicles", params={"owner": NOBODY})
    assert response.status_code == 200
    assert response.json() == {"owner_register_number": NOBODY, "vehicles": []}


def test_rest_vehicle_by_url_encoded_plate(vehicles: TestClient) -> None:
    path = f"/vehicles/{quote(DEMO_PLATE)}"
    assert path == "/vehicles/1234%D0%A3%D0%91%D0%90"
    response = vehicles.get(path)
    assert response.status_code == 200
    assert response.json() == DEMO_PRIUS


def test_rest_unknown_plate(vehicles: TestClient) -> None:
    response = vehicles.get(f"/vehicles/{quote(NO_PLATE)}")
    assert response.status_code == 404
    assert response.json()["type"] == "VehicleNotFound"


# SOAP


@pytest.mark.parametrize(
    "prefixes",
    [
        {"env": "soapenv", "xrd": "xrd", "iden": "id"},
        {"env": "SOAP-ENV", "xrd": "xroad", "iden": "iden"},
    ],
)
def test_soap_echoes_headers(vehicles: TestClient, prefixes: dict[str, str]) -> None:
    request = envelope(**prefixes)
    status, response = post_soap(vehicles, request)
    assert status == 200
    sent = parse_untrusted(request, LIMITS).find(f"{{{SOAP_ENV_NS}}}Header")
    echoed = response.find(f"{{{SOAP_ENV_NS}}}Header")
    assert sent is not None
    assert echoed is not None
    assert [exc14n(e) for e in echoed] == [exc14n(e) for e in sent if isinstance(e.tag, str)]


def test_soap_vehicles_by_owner(vehicles: TestClient, schema: xmlschema.XMLSchema) -> None:
    status, response = post_soap(vehicles, envelope())
    assert status == 200
    wrapper = body_of(response)
    assert wrapper.tag == f"{{{VEHICLE_NS}}}getVehiclesByOwnerResponse"
    listed = wrapper.findall(f"{{{VEHICLE_NS}}}vehicles/{{{VEHICLE_NS}}}vehicle")
    assert [v.findtext(f"{{{VEHICLE_NS}}}plateNumber") for v in listed] == [
        DEMO_PLATE,
        "0718УНЕ",
    ]
    assert child_names(listed[0]) == VEHICLE_ELEMENTS
    assert listed[0].findtext(f"{{{VEHICLE_NS}}}insurance/{{{VEHICLE_NS}}}validUntil") == (
        "2025-09-02"
    )
    schema.validate(etree.tostring(wrapper, encoding="unicode"))


def test_soap_owner_without_vehicles(vehicles: TestClient, schema: xmlschema.XMLSchema) -> None:
    status, response = post_soap(vehicles, envelope(value=NOBODY))
    assert status == 200
    wrapper = body_of(response)
    assert wrapper.findtext(f"{{{VEHICLE_NS}}}vehicles/{{{VEHICLE_NS}}}ownerRegisterNumber") == (
        NOBODY
    )
    assert wrapper.find(f".//{{{VEHICLE_NS}}}vehicle") is None
    schema.validate(etree.tostring(wrapper, encoding="unicode"))


def test_soap_vehicle_by_plate(vehicles: TestClient, schema: xmlschema.XMLSchema) -> None:
    status, response = post_soap(vehicles, envelope("getVehicleByPlate", DEMO_PLATE))
    assert status == 200
    wrapper = body_of(response)
    assert wrapper.tag == f"{{{VEHICLE_NS}}}getVehicleByPlateResponse"
    assert wrapper.findtext(f"{{{VEHICLE_NS}}}vehicle/{{{VEHICLE_NS}}}vin") == DEMO_PRIUS["vin"]
    schema.validate(etree.tostring(wrapper, encoding="unicode"))


def test_soap_accepts_unqualified_arguments(vehicles: TestClient) -> None:
    data = envelope("getVehicleByPlate", DEMO_PLATE).replace(b"v:plateNumber", b"plateNumber")
    status, response = post_soap(vehicles, data)
    assert status == 200
    assert response.findtext(f".//{{{VEHICLE_NS}}}model") == "Prius"


def test_soap_unknown_plate_is_a_business_fault(
    vehicles: TestClient, schema: xmlschema.XMLSchema
) -> None:
    status, response = post_soap(vehicles, envelope("getVehicleByPlate", NO_PLATE))
    assert status == 200
    assert fault_code(response) is None
    wrapper = body_of(response)
    assert wrapper.findtext(f"{{{VEHICLE_NS}}}fault/{{{VEHICLE_NS}}}faultCode") == (
        "VehicleNotFound"
    )
    assert wrapper.findtext(f"{{{VEHICLE_NS}}}fault/{{{VEHICLE_NS}}}faultString")
    schema.validate(etree.tostring(wrapper, encoding="unicode"))
