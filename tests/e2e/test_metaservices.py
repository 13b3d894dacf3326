"""X-Road metaservices through the running bus: listClients, listMethods, allowedMethods."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
import xmlschema
from lxml import etree

from tests.e2e.demo import RunningDemo
from tests.e2e.test_exchange import PORTAL, client_url
from xroad.cli.demo import SOAP_EXAMPLE
from xroad.limits import Limits
from xroad.messages import mime
from xroad.messages.soap import parse_soap
from xroad.messages.xml import XROAD_NS, parse_untrusted

pytestmark = pytest.mark.e2e

XSD_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "xroad-xsd"
PROVIDER_PATH = "/r1/MN/GOV/GASR/civil-registry"


def official_schema() -> xmlschema.XMLSchema:
    if not (XSD_DIR / "service-metainfo.xsd").exists():
        pytest.skip(f"official X-Road schemas not found in {XSD_DIR}")
    return xmlschema.XMLSchema(str(XSD_DIR / "service-metainfo.xsd"))


def test_list_clients_xml_validates_against_the_official_schema(demo: RunningDemo) -> None:
    reply = httpx.get(client_url(demo) + "/listClients", timeout=30)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/xml")
    official_schema().validate(reply.content)
    root = parse_untrusted(reply.content, Limits())
    codes = {el.text for el in root.iter("{http://x-road.eu/xsd/identifiers}subsystemCode")}
    assert {"portal", "civil-registry", "tax-registry"} <= codes


def test_list_clients_json(demo: RunningDemo) -> None:
    reply = httpx.get(client_url(demo) + "/listClients?xRoadInstance=MN", timeout=30,
                      headers={"Accept": "application/json"})
    members = reply.json()["member"]
    assert {"id": {"xroad_instance": "MN", "member_class": "GOV", "member_code": "GASR",
                   "subsystem_code": "civil-registry", "object_type": "SUBSYSTEM"},
            "name": "General Authority for State Registration"} in members
    other = httpx.get(client_url(demo) + "/listClients?xRoadInstance=EE", timeout=30,
                      headers={"Accept": "application/json"})
    assert other.json() == {"member": []}


def test_rest_list_methods_and_allowed_methods(demo: RunningDemo) -> None:
    headers = {"X-Road-Client": PORTAL}
    listed = httpx.get(client_url(demo) + PROVIDER_PATH + "/listMethods", headers=headers,
                       timeout=30)
    assert listed.status_code == 200, listed.text
    assert [s["service_code"] for s in listed.json()["service"]] == ["persons"]
    assert listed.headers["X-Road-Service"] == "MN/GOV/GASR/civil-registry/listMethods"
    allowed = httpx.get(client_url(demo) + PROVIDER_PATH + "/allowedMethods", headers=headers,
                        timeout=30)
    service = allowed.json()["service"][0]
    assert service["service_type"] == "REST"
    assert {"method": "GET", "path": "/*/family"} in service["endpoint_list"]
    assert service["object_type"] == "SERVICE"


def soap_metaservice(demo: RunningDemo, code: str) -> bytes:
    body = (SOAP_EXAMPLE.format(person="x")
            .replace("demo-0001", str(uuid.uuid4()))
            .replace("<id:serviceCode>getPerson</id:serviceCode><id:serviceVersion>v1"
                     "</id:serviceVersion>", f"<id:serviceCode>{code}</id:serviceCode>"))
    start, end = body.index("<civ:getPerson"), body.index("</civ:getPerson>") + 16
    body = body[:start] + f"<xrd:{code}/>" + body[end:]
    reply = httpx.post(client_url(demo) + "/", content=body.encode(), timeout=30,
                       headers={"Content-Type": "text/xml; charset=utf-8"})
    assert reply.status_code == 200, reply.text
    return reply.content


@pytest.mark.parametrize("code", ["listMethods", "allowedMethods"])
def test_soap_method_lists_validate_and_name_the_soap_services(demo: RunningDemo,
                                                               code: str) -> None:
    raw = soap_metaservice(demo, code)
    answer = parse_soap(raw, "text/xml", Limits())
    assert answer.request_hash
    body = parse_untrusted(raw, Limits()).find(
        "{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]
    assert body.tag == f"{{{XROAD_NS}}}{code}Response"
    official_schema().validate(etree.tostring(body))
    codes = [el.text for el in body.iter("{http://x-road.eu/xsd/identifiers}serviceCode")]
    assert codes == ["getPerson", "getFamily"]


def get_wsdl(demo: RunningDemo, wanted: str = "getPerson") -> httpx.Response:
    body = (SOAP_EXAMPLE.format(person="x")
            .replace("demo-0001", str(uuid.uuid4()))
            .replace("<id:serviceCode>getPerson</id:serviceCode><id:serviceVersion>v1"
                     "</id:serviceVersion>", "<id:serviceCode>getWsdl</id:serviceCode>"))
    start, end = body.index("<civ:getPerson"), body.index("</civ:getPerson>") + 16
    body = (body[:start] + f"<xrd:getWsdl><xrd:serviceCode>{wanted}</xrd:serviceCode>"
            "</xrd:getWsdl>" + body[end:])
    return httpx.post(client_url(demo) + "/", content=body.encode(), timeout=30,
                      headers={"Content-Type": "text/xml; charset=utf-8"})


def test_get_wsdl_sends_the_wsdl_as_an_attachment_with_the_endpoint_masked(
        demo: RunningDemo) -> None:
    reply = get_wsdl(demo)
    assert reply.status_code == 200, reply.text
    content_type = reply.headers["content-type"]
    parts = mime.split(content_type, reply.content)
    soap_bytes, soap_type = mime.soap_of(content_type, reply.content)
    answer = parse_soap(soap_bytes, soap_type, Limits())
    assert answer.header.service.service_code == "getWsdl"
    wsdl = reply.content[parts[1].start:parts[1].end]
    root = parse_untrusted(wsdl, Limits())
    locations = [a.get("location") for a in root.iter(
        "{http://schemas.xmlsoap.org/wsdl/soap/}address")]
    assert locations == ["http://example.org/xroad-endpoint"]
    assert b"127.0.0.1" not in wsdl


def test_get_wsdl_of_an_unknown_service_is_a_fault(demo: RunningDemo) -> None:
    reply = get_wsdl(demo, wanted="noSuchService")
    assert reply.status_code == 500
    assert b"<faultcode>Server.ServerProxy.UnknownService</faultcode>" in reply.content


def test_get_openapi_masks_the_servers(demo: RunningDemo) -> None:
    reply = httpx.get(client_url(demo) + PROVIDER_PATH + "/getOpenAPI?serviceCode=persons",
                      headers={"X-Road-Client": PORTAL}, timeout=30)
    assert reply.status_code == 200, reply.text
    doc = reply.json()
    assert doc["servers"] == [{"url": "http://example.org/xroad-endpoint"}]
    assert any(path.startswith("/persons") for path in doc["paths"])
    missing = httpx.get(client_url(demo) + PROVIDER_PATH + "/getOpenAPI",
                        headers={"X-Road-Client": PORTAL}, timeout=30)
    assert missing.status_code == 500
    assert missing.headers["X-Road-Error"] == "Server.ServerProxy.BadRequest"
