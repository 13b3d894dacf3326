"""Fixtures for conformance tests: the official X-Road schemas, the demo request, a dev PKI.

The X-Road XSDs are reference material kept outside the project (`../shared/reference/
xroad-xsd/`, or `XROAD_XSD_DIR`); they are read from there at test time, never copied in.
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import xmlschema
from fastapi.testclient import TestClient

import adapters.civil
from keys.devpki import DevCa, ensure_dev_ca, new_key
from keys.token import SoftwareSigner
from xroad.cli.demo import SOAP_EXAMPLE
from xroad.identifiers import ClientId

AT = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
DEMO_PERSON = "УБ99112233"

XSD_DIR = Path(os.environ.get(
    "XROAD_XSD_DIR", Path(__file__).resolve().parents[3] / "shared" / "reference" / "xroad-xsd"))
# schemaLocation URLs in xroad-securityserver.xsd point at the web; map them to local files.
_LOCAL = {
    "http://x-road.eu/xsd/identifiers": "identifiers.xsd",
    "http://www.w3.org/XML/1998/namespace": "xml.xsd",
}


@pytest.fixture(scope="session")
def demo_request() -> bytes:
    """The request `xroad demo` prints for curl: what a real information system would send."""
    return SOAP_EXAMPLE.format(person=DEMO_PERSON).encode()


@dataclass(frozen=True)
class XRoadSchemas:
    """The official schemas, split as the README of the XSD folder says they load."""

    header: xmlschema.XMLSchema  # xroad.xsd + xroad-securityserver.xsd: single header elements
    message: xmlschema.XMLSchema  # message.xsd: HeaderType (client, service, securityServer?, id)
    representation: xmlschema.XMLSchema  # representation.xsd: representedParty


def _load(*names: str) -> xmlschema.XMLSchema:
    sources = [str(XSD_DIR / n) for n in names]
    locations = {ns: str(XSD_DIR / f) for ns, f in _LOCAL.items()}
    return xmlschema.XMLSchema(sources if len(sources) > 1 else sources[0],
                               locations=locations, allow="local")  # never fetch over http


@pytest.fixture(scope="session")
def xroad_schemas() -> XRoadSchemas:
    if not (XSD_DIR / "xroad.xsd").is_file():
        pytest.skip(f"official X-Road XSDs not found in {XSD_DIR} "
                    "(reference material outside the project; set XROAD_XSD_DIR to use a copy)")
    return XRoadSchemas(
        header=_load("xroad.xsd", "xroad-securityserver.xsd"),
        message=_load("message.xsd"),
        representation=_load("representation.xsd"),
    )


@pytest.fixture(scope="module")
def civil_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The civil registry adapter on a fresh seeded SQLite database."""
    tmp = tmp_path_factory.mktemp("civil")
    settings = adapters.civil.CivilRegistrySettings(database_url=f"sqlite:///{tmp}/c.db")
    with TestClient(adapters.civil.create_app(settings)) as client:
        yield client


@pytest.fixture(scope="session")
def at() -> datetime:
    """When the dev PKI's certificates were issued (valid from an hour before)."""
    return AT


@pytest.fixture(scope="session")
def ca(tmp_path_factory: pytest.TempPathFactory) -> DevCa:
    return ensure_dev_ca(tmp_path_factory.mktemp("pki"), "MN", "pin", AT)


@pytest.fixture(scope="session")
def member_signer(ca: DevCa) -> SoftwareSigner:
    """MN/GOV/GASR's signing key and certificate, issued by the dev CA."""
    key = new_key()
    cert = ca.issue_signing_cert(ClientId.parse("MN/GOV/GASR"), key.public_key(), AT)
    return SoftwareSigner("sign", key, (cert, *ca.chain))


@pytest.fixture(scope="session")
def conf_signer(ca: DevCa) -> SoftwareSigner:
    """The central server's global configuration signing key (the anchor's certificate)."""
    key = new_key()
    cert = ca.issue_conf_signing_cert("MN", key.public_key(), AT)
    return SoftwareSigner("conf", key, (cert, *ca.chain))
