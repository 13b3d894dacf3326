"""The four registries of the demo answer through the bus, over REST and SOAP, and the
provider's audit log knows whom each query was about (the citizen view)."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import httpx
import pytest

from tests.e2e.demo import RunningDemo
from tests.e2e.test_exchange import PORTAL, client_url
from xroad.cli.demo import DEMO_PERSON
from xroad.limits import Limits
from xroad.messages.soap import parse_soap

pytestmark = pytest.mark.e2e

PROVIDER = "MN/GOV/GASR/ss1"
PERSON = quote(DEMO_PERSON, safe="")

REST = {
    "civil": (f"MN/GOV/GASR/civil-registry/persons/{PERSON}", "Бат-Эрдэнэ"),
    "land": (f"MN/GOV/ALAMGAC/land-registry/parcels?owner={PERSON}", "0101000001"),
    "vehicle": (f"MN/GOV/RTDC/vehicle-registry/vehicles?owner={PERSON}", "1234УБА"),
    "tax": (f"MN/GOV/MTA/tax-registry/tax-status/{PERSON}", "220299112233"),
}

# (service provider, service code, namespace, request element, what the answer holds)
SOAP = {
    "land": ("ALAMGAC", "land-registry", "getParcelsByOwner", "http://land.gov.mn/xroad",
             "0101000001"),
    "vehicle": ("RTDC", "vehicle-registry", "getVehiclesByOwner", "http://vehicle.gov.mn/xroad",
                "1234УБА"),
    "tax": ("MTA", "tax-registry", "getTaxStatus", "http://tax.gov.mn/xroad", "220299112233"),
}

# Each registry's second query, by its own key (REST path; SOAP service, argument, value).
SECOND_REST = {
    "civil": (f"MN/GOV/GASR/civil-registry/persons/{PERSON}/family", "relatives"),
    "land": ("MN/GOV/ALAMGAC/land-registry/parcels/0101000001", "0101000001"),
    "vehicle": (f"MN/GOV/RTDC/vehicle-registry/vehicles/{quote('1234УБА', safe='')}",
                "1234УБА"),
    "tax": ("MN/GOV/MTA/tax-registry/taxpayers/220299112233", "220299112233"),
}
SECOND_SOAP = {
    "civil": ("GASR", "civil-registry", "getFamily", "http://civil.gov.mn/xroad",
              "registerNumber", DEMO_PERSON, DEMO_PERSON),
    "land": ("ALAMGAC", "land-registry", "getParcel", "http://land.gov.mn/xroad", "parcelId",
             "0101000001", DEMO_PERSON),
    "vehicle": ("RTDC", "vehicle-registry", "getVehicleByPlate", "http://vehicle.gov.mn/xroad",
                "plateNumber", "1234УБА", "1234УБА"),
    "tax": ("MTA", "tax-registry", "getTaxpayer", "http://tax.gov.mn/xroad", "tin",
            "220299112233", DEMO_PERSON),
}


def _envelope(member: str, subsystem: str, code: str, namespace: str,
              argument: str = "registerNumber", value: str = DEMO_PERSON) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:xrd="http://x-road.eu/xsd/xroad.xsd" xmlns:id="http://x-road.eu/xsd/identifiers">
  <SOAP-ENV:Header>
    <xrd:client id:objectType="SUBSYSTEM">
      <id:xRoadInstance>MN</id:xRoadInstance><id:memberClass>GOV</id:memberClass>
      <id:memberCode>EMONGOLIA</id:memberCode><id:subsystemCode>portal</id:subsystemCode>
    </xrd:client>
    <xrd:service id:objectType="SERVICE">
      <id:xRoadInstance>MN</id:xRoadInstance><id:memberClass>GOV</id:memberClass>
      <id:memberCode>{member}</id:memberCode><id:subsystemCode>{subsystem}</id:subsystemCode>
      <id:serviceCode>{code}</id:serviceCode>
    </xrd:service>
    <xrd:id>{uuid.uuid4()}</xrd:id>
    <xrd:issue>citizen portal: my profile</xrd:issue>
    <xrd:protocolVersion>4.0</xrd:protocolVersion>
  </SOAP-ENV:Header>
  <SOAP-ENV:Body>
    <r:{code} xmlns:r="{namespace}"><r:{argument}>{value}</r:{argument}></r:{code}>
  </SOAP-ENV:Body>
</SOAP-ENV:Envelope>
""".encode()


@pytest.mark.parametrize("registry", REST)
def test_each_registry_answers_over_rest_through_the_bus(demo: RunningDemo,
                                                         registry: str) -> None:
    path, expected = REST[registry]
    reply = httpx.get(f"{client_url(demo)}/r1/{path}", timeout=30,
                      headers={"X-Road-Client": PORTAL, "X-Road-Issue": "my profile"})
    assert reply.status_code == 200, reply.text
    assert expected in reply.text
    assert reply.headers["X-Road-Service"].startswith("MN/GOV/")


@pytest.mark.parametrize("registry", SOAP)
def test_each_registry_answers_over_soap_through_the_bus(demo: RunningDemo,
                                                         registry: str) -> None:
    member, subsystem, code, namespace, expected = SOAP[registry]
    reply = httpx.post(client_url(demo) + "/", timeout=30,
                       content=_envelope(member, subsystem, code, namespace),
                       headers={"Content-Type": "text/xml; charset=utf-8"})
    assert reply.status_code == 200, reply.text
    answer = parse_soap(reply.content, reply.headers["content-type"], Limits())
    assert not answer.is_fault
    assert answer.header.service.service_code == code
    assert expected.encode() in reply.content


@pytest.mark.parametrize("registry", SECOND_REST)
def test_each_registrys_second_query_over_rest_through_the_bus(demo: RunningDemo,
                                                               registry: str) -> None:
    path, expected = SECOND_REST[registry]
    reply = httpx.get(f"{client_url(demo)}/r1/{path}", timeout=30,
                      headers={"X-Road-Client": PORTAL, "X-Road-Issue": "my profile"})
    assert reply.status_code == 200, reply.text
    assert expected in reply.text


@pytest.mark.parametrize("registry", SECOND_SOAP)
def test_each_registrys_second_query_over_soap_through_the_bus(demo: RunningDemo,
                                                               registry: str) -> None:
    member, subsystem, code, namespace, argument, value, expected = SECOND_SOAP[registry]
    reply = httpx.post(client_url(demo) + "/", timeout=30,
                       content=_envelope(member, subsystem, code, namespace, argument, value),
                       headers={"Content-Type": "text/xml; charset=utf-8"})
    assert reply.status_code == 200, reply.text
    answer = parse_soap(reply.content, reply.headers["content-type"], Limits())
    assert not answer.is_fault, reply.text
    assert answer.header.service.service_code == code
    assert expected.encode() in reply.content


def test_the_citizen_view_lists_every_registry_the_portal_asked(demo: RunningDemo) -> None:
    for path, _ in REST.values():
        assert httpx.get(f"{client_url(demo)}/r1/{path}", timeout=30,
                         headers={"X-Road-Client": PORTAL}).status_code == 200
    key = (demo.server_dir(PROVIDER) / "data-access-api-key").read_text().strip()
    services: set[str] = set()
    after: int | None = -1
    while after is not None:
        page = httpx.get(
            f"{demo.server(PROVIDER)['admin_url']}/api/v1/audit/data-access/{PERSON}",
            headers={"Authorization": f"X-Road-ApiKey token={key}"},
            params={"limit": "1000", "after": str(after)}, timeout=30)
        assert page.status_code == 200, page.text
        services |= {"/".join(a["service"].split("/")[:4]) for a in page.json()["accesses"]}
        after = page.json()["next_after"]
    assert services >= {"MN/GOV/GASR/civil-registry", "MN/GOV/ALAMGAC/land-registry",
                        "MN/GOV/RTDC/vehicle-registry", "MN/GOV/MTA/tax-registry"}
