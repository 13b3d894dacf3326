"""An unchanged SOAP client (zeep), built from the bus's own getWsdl answer, calls getPerson.

zeep resolves the WSDL's import of X-Road's schema from a local copy of the official XSDs,
as X-Road client developers do when they work offline.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import zeep
from zeep.transports import Transport

from tests.e2e.demo import RunningDemo
from tests.e2e.test_exchange import client_url
from tests.e2e.test_metaservices import XSD_DIR, get_wsdl
from xroad.messages import mime

pytestmark = pytest.mark.e2e


class OfflineXRoadSchemas(Transport):  # type: ignore[misc]
    """Serves X-Road's published schemas from the local copies of the official files."""

    def load(self, url: str) -> bytes:
        if url.startswith("http://x-road.eu/xsd/"):
            return (XSD_DIR / url.rsplit("/", 1)[-1]).read_bytes()
        return super().load(url)


def test_zeep_calls_get_person_through_the_bus(demo: RunningDemo, tmp_path: Path) -> None:
    if not (XSD_DIR / "xroad.xsd").exists():
        pytest.skip(f"official X-Road schemas not found in {XSD_DIR}")
    reply = get_wsdl(demo)
    parts = mime.split(reply.headers["content-type"], reply.content)
    wsdl = tmp_path / "civil-registry.wsdl"
    wsdl.write_bytes(reply.content[parts[1].start:parts[1].end])

    client = zeep.Client(str(wsdl), transport=OfflineXRoadSchemas())
    binding = next(iter(client.wsdl.bindings))
    service = client.create_service(binding, client_url(demo) + "/")
    headers = {
        "client": {"objectType": "SUBSYSTEM", "xRoadInstance": "MN", "memberClass": "GOV",
                   "memberCode": "EMONGOLIA", "subsystemCode": "portal"},
        "service": {"objectType": "SERVICE", "xRoadInstance": "MN", "memberClass": "GOV",
                    "memberCode": "GASR", "subsystemCode": "civil-registry",
                    "serviceCode": "getPerson", "serviceVersion": "v1"},
        "id": str(uuid.uuid4()), "userId": "MN-officer-17", "issue": "zeep test",
        "protocolVersion": "4.0"}
    answer = service.getPerson(registerNumber="УБ99112233", _soapheaders=headers)
    assert answer["header"]["client"]["subsystemCode"] == "portal"  # echoed by the provider
    person = answer["body"]["person"]
    assert person["givenName"] == "Болд"
    assert str(person["birthDate"]) == "1999-11-22"
