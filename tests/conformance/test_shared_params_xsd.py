"""The central server's X-Road `shared-params.xml` view, validated against X-Road's own schema
(`globalconf/v6/shared-parameters.xsd`, read from the reference folder, never copied)."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest
import xmlschema
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from keys.devpki import DevCa, new_key
from tests.conformance.conftest import XSD_DIR
from xroad.central.app import create_central_app
from xroad.central.publisher import ConfPublisher, ConfSigningKeys, FixedConfKeys, SqlPublishedLog
from xroad.central.service import Registry
from xroad.clock import FixedClock
from xroad.demo.bootstrap import load_demo_seed
from xroad.globalconf import shared_params
from xroad.globalconf.model import GlobalConf
from xroad.globalconf.shared_params import ApprovedTsa, SharedParamsInput
from xroad.identifiers import SecurityServerId
from xroad.limits import Limits
from xroad.messages.xml import parse_untrusted

SHARED_PARAMS_XSD = XSD_DIR / "globalconf" / "v6" / "shared-parameters.xsd"
OCSP_URL = "http://127.0.0.1:8888"
TSA_URL = "http://127.0.0.1:8899"
PROVIDER = SecurityServerId.parse("MN/GOV/GASR/ss1")
CONSUMER = SecurityServerId.parse("MN/GOV/EMONGOLIA/ss1")


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    if not SHARED_PARAMS_XSD.is_file():
        pytest.skip(f"X-Road's shared parameters schema not found at {SHARED_PARAMS_XSD} "
                    "(reference material outside the project; set XROAD_XSD_DIR to use a copy)")
    return xmlschema.XMLSchema(str(SHARED_PARAMS_XSD), allow="local")


@pytest.fixture(scope="module")
def central(ca: DevCa, conf_signer, at, tmp_path_factory) -> TestClient:
    """A central server with the demo instance registered: members, servers, groups, CAs."""
    engine = create_engine(f"sqlite:///{tmp_path_factory.mktemp('central') / 'central.db'}")
    registry = Registry(engine, "MN", tsa_urls=(TSA_URL,))
    registry.apply_seed(load_demo_seed())
    registry.add_approved_ca("dev root CA", ca.root, OCSP_URL)
    registry.add_approved_ca("dev issuing CA", ca.issuing, OCSP_URL)
    for server, port in ((CONSUMER, 5500), (PROVIDER, 5501)):
        registry.set_server_address(server, f"https://127.0.0.1:{port}")
        registry.add_auth_cert(server, ca.issue_auth_cert(server, new_key().public_key(), at))
    tsa = ApprovedTsa("dev TSA", TSA_URL, ca.issue_tsa_cert(new_key().public_key(), at))
    publisher = ConfPublisher(registry, FixedConfKeys(ConfSigningKeys(conf_signer)),
                              SqlPublishedLog(engine), FixedClock(at), timedelta(minutes=10))
    return TestClient(create_central_app(publisher, registry, lambda: [tsa]))


@pytest.fixture(scope="module")
def document(central: TestClient) -> bytes:
    reply = central.get("/globalconf/shared-params.xml")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("application/xml")
    return reply.content


def test_demo_instance_is_valid_shared_parameters(schema, document):
    schema.validate(document)


def test_content(schema, document, ca, conf_signer):
    doc = schema.to_dict(document)
    assert doc["instanceIdentifier"] == "MN"
    der = conf_signer.certificate.public_bytes(serialization.Encoding.DER)
    assert doc["source"][0]["internalVerificationCert"] == [base64.b64encode(der).decode()]
    [approved] = doc["approvedCA"]  # the issuing CA sits under its root
    assert approved["topCA"]["cert"] == _b64(ca.root)
    assert approved["topCA"]["ocsp"] == [{"url": OCSP_URL}]
    assert [i["cert"] for i in approved["intermediateCA"]] == [_b64(ca.issuing)]
    assert approved["certificateProfileInfo"].endswith("EjbcaCertificateProfileInfoProvider")
    assert [t["url"] for t in doc["approvedTSA"]] == [TSA_URL]
    assert doc["globalSettings"]["ocspFreshnessSeconds"] == 3600
    assert {c["code"] for c in doc["globalSettings"]["memberClass"]} >= {"GOV", "COM"}

    members = {m["memberCode"]: m for m in doc["member"]}
    assert "civil-registry" in [s["subsystemCode"] for s in members["GASR"]["subsystem"]]
    ids = {m["@id"]: m["memberCode"] for m in doc["member"]}
    ids |= {s["@id"]: f"{m['memberCode']}/{s['subsystemCode']}"
            for m in doc["member"] for s in m.get("subsystem", [])}
    servers = {ids[s["owner"]]: s for s in doc["securityServer"]}
    provider = servers["GASR"]
    assert provider["serverCode"] == "ss1"
    assert provider["address"] == "127.0.0.1:5501"  # the port only when it is not 5500
    assert servers["EMONGOLIA"]["address"] == "127.0.0.1"
    assert len(provider["authCertHash"]) == 1
    assert len(base64.b64decode(provider["authCertHash"][0])) == hashlib.sha256().digest_size
    assert "GASR/civil-registry" in [ids[c] for c in provider["client"]]
    [group] = doc["globalGroup"]
    assert group["groupMember"][0]["@id:objectType"] == "SUBSYSTEM"


def test_children_are_unqualified_as_in_x_road(document):
    root = parse_untrusted(document, Limits())
    assert root.tag == f"{{{shared_params.XROAD_NS}}}conf"
    assert all("}" not in child.tag for child in root)


def test_minimal_configuration_is_valid(schema, at):
    conf = GlobalConf(instance="LA", version=1, generated_at=at, expires_at=at,
                      member_classes=(), members=(), security_servers=(), approved_cas=())
    schema.validate(shared_params.render(conf, SharedParamsInput("cs.example.la")))


def test_tsa_without_certificate_is_left_out(schema, at, ca):
    conf = GlobalConf(instance="MN", version=1, generated_at=at, expires_at=at,
                      member_classes=("GOV",), members=(), security_servers=(),
                      approved_cas=(ca.issuing,), tsa_urls=(TSA_URL,))
    xml = shared_params.render(conf, SharedParamsInput("cs.example.mn", tsas=()))
    schema.validate(xml)
    doc = schema.to_dict(xml)
    assert "approvedTSA" not in doc
    [approved] = doc["approvedCA"]  # an issuing CA whose root is not approved is a top CA
    assert approved["topCA"]["cert"] == _b64(ca.issuing)


def _b64(cert) -> str:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
