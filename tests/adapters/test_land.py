"""The land registry adapter over HTTP: REST, X-Road SOAP, WSDL."""

from collections.abc import Iterator

import pytest
import xmlschema
from fastapi.testclient import TestClient
from land_soap import DEMO_WIFE, LAND_NS, NO_PARCEL, envelope, land, land_settings, response_schema
from lxml import etree
from xroad_soap import DEMO, LIMITS, NOBODY, WSDL_NS, body_of, exc14n, fault_code, post_soap

import schemas
from adapters.land import create_app
from xroad.messages.xml import SOAP_ENV_NS, XROAD_NS, parse_untrusted

HOME = {
    "parcel_id": "0101000001",
    "location": {"aimag": "Улаанбаатар", "soum": "Баянзүрх дүүрэг"},
    "area_m2": 650,
    "land_use": "residential",
    "certificate_number": "Г1546280",
    "owners": [
        {"register_number": DEMO_WIFE, "share": "1/2"},
        {"register_number": DEMO, "share": "1/2"},
    ],
    "validity": {"valid_from": "2023-06-14", "valid_until": None},
}
PLOT_ID = "0202000001"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(land_settings(tmp_path_factory.mktemp("land") / "land.db"))
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return response_schema()


def test_wsdl_carries_the_x_road_extensions() -> None:
    wsdl = parse_untrusted(schemas.path("land", "land-registry.wsdl").read_bytes(), LIMITS)
    header_parts = wsdl.findall(f"{{{WSDL_NS}}}message[@name='requestheader']/{{{WSDL_NS}}}part")
    assert {part.get("element") for part in header_parts} == {
        f"xrd:{name}" for name in ("client", "service", "id", "userId", "issue", "protocolVersion")
    }
    for operation in wsdl.findall(f"{{{WSDL_NS}}}binding/{{{WSDL_NS}}}operation"):
        assert operation.findtext(f"{{{XROAD_NS}}}version") == "v1"
    port_operations = wsdl.findall(f"{{{WSDL_NS}}}portType/{{{WSDL_NS}}}operation")
    assert {op.get("name") for op in port_operations} == {"getParcelsByOwner", "getParcel"}
    for operation in port_operations:
        assert operation.find(f"{{{WSDL_NS}}}documentation/{{{XROAD_NS}}}title") is not None


def test_wsdl_is_served(client: TestClient) -> None:
    response = client.get("/wsdl")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    served = parse_untrusted(response.content, LIMITS)
    assert served.get("targetNamespace") == LAND_NS
    assert client.get("/health").json() == {"status": "ok"}


def test_openapi_describes_the_parcels_service(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert {"/parcels", "/parcels/{parcel_id}"} <= set(document["paths"])
    parameters = document["paths"]["/parcels"]["get"]["parameters"]
    assert [p["name"] for p in parameters] == ["owner"]  # X-Road headers are the bus's
    assert document["components"]["schemas"]["ParcelRecord"]["required"] == ["parcel_id"]


# REST


def test_rest_parcels_by_owner(client: TestClient) -> None:
    response = client.get("/parcels", params={"owner": DEMO})
    assert response.status_code == 200
    answer = response.json()
    assert answer["register_number"] == DEMO
    home, plot = answer["parcels"]
    assert home == HOME
    assert plot["parcel_id"] == PLOT_ID
    assert plot["land_use"] == "agricultural"
    assert plot["owners"] == [{"register_number": DEMO, "share": "1/1"}]
    assert plot["validity"]["valid_until"] > plot["validity"]["valid_from"]


def test_rest_the_wife_sees_the_shared_home(client: TestClient) -> None:
    parcels = client.get("/parcels", params={"owner": DEMO_WIFE}).json()["parcels"]
    assert [p["parcel_id"] for p in parcels] == [HOME["parcel_id"]]


def test_rest_owner_without_parcels_is_an_empty_list(client: TestClient) -> None:
    response = client.get("/parcels", params={"owner": NOBODY})
    assert response.status_code == 200
    assert response.json() == {"register_number": NOBODY, "parcels": []}


def test_rest_parcel(client: TestClient) -> None:
    response = client.get(f"/parcels/{HOME['parcel_id']}")
    assert response.status_code == 200
    assert response.json() == HOME


@pytest.mark.parametrize("number", ["УБ9911223", "UB99112233", "уб99112233", "УБ99132233", ""])
def test_rest_malformed_register_number(client: TestClient, number: str) -> None:
    response = client.get("/parcels", params={"owner": number})
    assert response.status_code == 400
    assert response.json()["type"] == "InvalidRegisterNumber"
    assert response.json()["message"]


def test_rest_missing_owner(client: TestClient) -> None:
    response = client.get("/parcels")
    assert response.status_code == 400
    assert response.json()["type"] == "InvalidRequest"


@pytest.mark.parametrize("parcel_id", ["010100000", "01010000011", "01010000O1", DEMO, "x" * 200])
def test_rest_malformed_parcel_id(client: TestClient, parcel_id: str) -> None:
    response = client.get(f"/parcels/{parcel_id}")
    assert response.status_code == 400
    assert response.json()["type"] == "InvalidParcelId"
    assert len(response.json()["message"]) < 100  # the input is quoted, but cut short


def test_rest_unknown_parcel(client: TestClient) -> None:
    response = client.get(f"/parcels/{NO_PARCEL}")
    assert response.status_code == 404
    assert response.json()["type"] == "ParcelNotFound"


# SOAP


@pytest.mark.parametrize(
    "prefixes",
    [
        {"env": "soapenv", "xrd": "xrd", "iden": "id"},
        {"env": "SOAP-ENV", "xrd": "xroad", "iden": "iden"},
    ],
)
def test_soap_echoes_headers(client: TestClient, prefixes: dict[str, str]) -> None:
    request = envelope(**prefixes)
    status, response = post_soap(client, request)
    assert status == 200
    sent = parse_untrusted(request, LIMITS).find(f"{{{SOAP_ENV_NS}}}Header")
    echoed = response.find(f"{{{SOAP_ENV_NS}}}Header")
    assert sent is not None
    assert echoed is not None
    assert [exc14n(e) for e in echoed] == [exc14n(e) for e in sent if isinstance(e.tag, str)]


def test_soap_get_parcels_by_owner(client: TestClient, schema: xmlschema.XMLSchema) -> None:
    _, response = post_soap(client, envelope())
    wrapper = body_of(response)
    assert wrapper.tag == land("getParcelsByOwnerResponse")
    assert wrapper.findtext(land("parcels/registerNumber")) == DEMO
    parcels = wrapper.findall(land("parcels/parcel"))
    assert [p.findtext(land("parcelId")) for p in parcels] == [HOME["parcel_id"], PLOT_ID]
    home = parcels[0]
    assert home.findtext(land("location/soum")) == "Баянзүрх дүүрэг"
    assert home.findtext(land("areaM2")) == "650"
    owners = [
        (o.findtext(land("registerNumber")), o.findtext(land("share")))
        for o in home.findall(land("owner"))
    ]
    assert owners == [(DEMO_WIFE, "1/2"), (DEMO, "1/2")]
    assert home.find(land("validity/validUntil")) is None  # ownership does not expire
    assert parcels[1].findtext(land("validity/validUntil"))
    schema.validate(etree.tostring(wrapper, encoding="unicode"))


def test_soap_owner_without_parcels(client: TestClient, schema: xmlschema.XMLSchema) -> None:
    status, response = post_soap(client, envelope(value=NOBODY))
    assert status == 200
    wrapper = body_of(response)
    assert wrapper.findall(land("parcels/parcel")) == []
    schema.validate(etree.tostring(wrapper, encoding="unicode"))


def test_soap_get_parcel(client: TestClient, schema: xmlschema.XMLSchema) -> None:
    status, response = post_soap(client, envelope("getParcel", PLOT_ID))
    assert status == 200
    wrapper = body_of(response)
    assert wrapper.tag == land("getParcelResponse")
    assert wrapper.findtext(land("parcel/landUse")) == "agricultural"
    assert wrapper.findtext(land("parcel/location/aimag")) == "Архангай"
    schema.validate(etree.tostring(wrapper, encoding="unicode"))


def test_soap_accepts_unqualified_elements(client: TestClient) -> None:
    data = envelope("getParcel", PLOT_ID).replace(b"l:parcelId", b"parcelId")
    status, response = post_soap(client, data)
    assert status == 200
    assert response.findtext(f".//{land('parcelId')}") == PLOT_ID


def test_soap_unknown_parcel_is_a_business_fault(
    client: TestClient, schema: xmlschema.XMLSchema
) -> None:
    status, response = post_soap(client, envelope("getParcel", NO_PARCEL))
    assert status == 200
    assert fault_code(response) is None
    wrapper = body_of(response)
    assert wrapper.findtext(land("fault/faultCode")) == "ParcelNotFound"
    assert wrapper.findtext(land("fault/faultString"))
    schema.validate(etree.tostring(wrapper, encoding="unicode"))
