"""One signed, audited exchange end to end through real processes, sockets and mutual TLS."""

from __future__ import annotations

import base64
import hashlib
import sqlite3
import uuid
from urllib.parse import quote

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from audit.integrity import check_integrity
from audit.store import SqlAuditStore
from tests.e2e.demo import RunningDemo, audit_records
from xroad.cli.demo import DEMO_PERSON, SOAP_EXAMPLE
from xroad.limits import Limits
from xroad.messages.soap import parse_soap

pytestmark = pytest.mark.e2e

CONSUMER = "MN/GOV/EMONGOLIA/ss1"
PROVIDER = "MN/GOV/GASR/ss1"
PORTAL = "MN/GOV/EMONGOLIA/portal"
PERSON_PATH = "/r1/MN/GOV/GASR/civil-registry/persons/%D0%A3%D0%9199112233"


def client_url(demo: RunningDemo) -> str:
    return demo.server(CONSUMER)["client_url"]


def signing_cert_sha256(demo: RunningDemo, server: str, member: str) -> str:
    pem = (demo.server_dir(server) / "token" / f"sign-{member.replace('/', '_')}.cert.pem")
    cert = x509.load_pem_x509_certificates(pem.read_bytes())[0]
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def records_for(demo: RunningDemo, server: str, request_id: str) -> dict[str, dict]:
    return {r["kind"]: r for r in audit_records(demo, server) if r["request_id"] == request_id}


def test_instance_json_follows_the_contract(demo: RunningDemo) -> None:
    inst = demo.instance
    assert inst["instance"] == "MN"
    assert inst["central_server"]["url"].startswith("http://127.0.0.1:")
    ids = [s["id"] for s in inst["security_servers"]]
    assert ids == [CONSUMER, PROVIDER]
    assert demo.server(PROVIDER)["server_url"].startswith("https://127.0.0.1:")
    assert "MN/GOV/GASR/civil-registry" in demo.server(PROVIDER)["clients"]
    assert inst["adapters"]["civil"]["soap_services"][0] == "getPerson"
    assert inst["adapters"]["civil"]["rest_services"] == ["persons"]
    assert inst["demo_client"] == {"subsystem": PORTAL, "security_server": CONSUMER}
    assert (demo.data_dir / "pki" / "ca-chain.pem").samefile(inst["trust_services"]["ca_certs"])


def test_rest_request_is_signed_verified_and_audited_on_both_sides(demo: RunningDemo) -> None:
    message_id = str(uuid.uuid4())
    reply = httpx.get(client_url(demo) + PERSON_PATH, timeout=30, headers={
        "X-Road-Client": PORTAL, "X-Road-Id": message_id, "X-Road-UserId": "MN-officer-17",
        "X-Road-Issue": "case-42"})

    assert reply.status_code == 200, reply.text
    person = reply.json()
    assert person["register_number"] == DEMO_PERSON
    assert person["birth_date"] == "1999-11-22"
    assert reply.headers["X-Road-Id"] == message_id
    assert reply.headers["X-Road-Client"] == PORTAL
    assert reply.headers["X-Road-Service"] == "MN/GOV/GASR/civil-registry/persons"
    request_id = reply.headers["X-Road-Request-Id"]
    uuid.UUID(request_id)
    assert len(base64.b64decode(reply.headers["X-Road-Request-Hash"])) == 64
    assert "X-Road-Error" not in reply.headers

    client_sig = signing_cert_sha256(demo, CONSUMER, "MN/GOV/EMONGOLIA")
    provider_sig = signing_cert_sha256(demo, PROVIDER, "MN/GOV/GASR")
    consumer_side = records_for(demo, CONSUMER, request_id)
    provider_side = records_for(demo, PROVIDER, request_id)
    # The provider writes its request record only after verifying the client's signature,
    # the consumer its response record only after verifying the provider's.
    assert provider_side["request"]["signer_cert_sha256"] == client_sig
    assert consumer_side["response"]["signer_cert_sha256"] == provider_sig
    assert consumer_side["request"]["signer_cert_sha256"] == client_sig
    assert provider_side["response"]["signer_cert_sha256"] == provider_sig
    for side in (consumer_side, provider_side):
        assert set(side) == {"request", "response"}
        assert all(r["outcome"] == "ok" for r in side.values())
        assert side["request"]["message_id"] == message_id
        assert side["request"]["issue"] == "case-42"
        assert side["request"]["user_id"] == "MN-officer-17"
        assert side["request"]["client"] == PORTAL
    # Both sides saw the same signed bytes.
    assert consumer_side["request"]["signature_digest"] == (
        provider_side["request"]["signature_digest"])
    assert consumer_side["response"]["signature_digest"] == (
        provider_side["response"]["signature_digest"])


def test_audit_log_is_a_verified_tree_and_append_only(demo: RunningDemo) -> None:
    httpx.get(client_url(demo) + PERSON_PATH, headers={"X-Road-Client": PORTAL}, timeout=30)
    for server in (CONSUMER, PROVIDER):
        db = demo.server_dir(server) / "audit.db"
        store = SqlAuditStore(f"sqlite:///{db}")
        assert check_integrity(store) >= 2
        store.close()
        with sqlite3.connect(db) as conn, pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE audit_log SET leaf = x'00' WHERE idx = 0")


def test_soap_request_round_trips_with_request_hash(demo: RunningDemo) -> None:
    body = SOAP_EXAMPLE.format(person=DEMO_PERSON).replace("demo-0001", str(uuid.uuid4()))
    raw = body.encode()
    reply = httpx.post(client_url(demo) + "/", content=raw, timeout=30,
                       headers={"Content-Type": "text/xml; charset=utf-8"})
    assert reply.status_code == 200, reply.text
    answer = parse_soap(reply.content, reply.headers["content-type"], Limits())
    assert not answer.is_fault
    assert answer.request_hash == base64.b64encode(hashlib.sha512(raw).digest()).decode()
    assert answer.header.service.service_code == "getPerson"
    assert "Бат-Эрдэнэ".encode() in reply.content


def assert_rest_fault(demo: RunningDemo, reply: httpx.Response, status: int, code: str) -> None:
    assert reply.status_code == status, reply.text
    assert reply.headers["X-Road-Error"] == code
    body = reply.json()
    assert body["type"] == code
    assert body["message"]
    fault_id = body["detail"]
    uuid.UUID(fault_id)
    logs = demo.log("ss-MN_GOV_EMONGOLIA_ss1") + demo.log("ss-MN_GOV_GASR_ss1")
    assert fault_id in logs
    assert "Traceback" not in reply.text


def test_missing_client_header_is_a_client_bad_request(demo: RunningDemo) -> None:
    reply = httpx.get(client_url(demo) + PERSON_PATH, timeout=30)
    assert_rest_fault(demo, reply, 400, "Client.BadRequest")


@pytest.mark.parametrize(("path", "status", "code"), [
    ("/r1/MN/GOV/GASR/civil-registry/noSuchService/x", 500, "Server.ServerProxy.UnknownService"),
    ("/r1/MN/GOV/NOBODY/civil-registry/persons/x", 500, "Server.ClientProxy.UnknownMember"),
    ("/r1/MN/GOV/GASR/civil%2Fregistry/persons/x", 400, "Client.InvalidServiceIdentifier"),
    ("/r1/MN/GOV/GASR/persons", 400, "Client.BadRequest"),
], ids=["unknown-service", "unknown-provider", "encoded-slash-in-identifier", "no-subsystem"])
def test_bad_service_identifiers_get_x_road_faults(demo: RunningDemo, path: str, status: int,
                                                   code: str) -> None:
    reply = httpx.get(client_url(demo) + path, headers={"X-Road-Client": PORTAL}, timeout=30)
    assert_rest_fault(demo, reply, status, code)


def test_client_not_hosted_on_this_server_is_refused(demo: RunningDemo) -> None:
    reply = httpx.get(client_url(demo) + PERSON_PATH, timeout=30,
                      headers={"X-Road-Client": "MN/GOV/GASR/civil-registry"})
    assert_rest_fault(demo, reply, 500, "Server.ClientProxy.UnknownMember")


def test_malformed_soap_is_a_client_fault(demo: RunningDemo) -> None:
    reply = httpx.post(client_url(demo) + "/", content=b"<not-xml", timeout=30,
                       headers={"Content-Type": "text/xml"})
    assert reply.status_code == 500
    assert b"<faultcode>Client.InvalidSoap</faultcode>" in reply.content  # as X-Road answers
    assert b"Traceback" not in reply.content


def test_unknown_person_passes_the_provider_answer_through(demo: RunningDemo) -> None:
    path = "/r1/MN/GOV/GASR/civil-registry/persons/" + quote("УБ00000000", safe="")
    reply = httpx.get(client_url(demo) + path, headers={"X-Road-Client": PORTAL}, timeout=30)
    assert reply.status_code in (400, 404)
    assert "X-Road-Error" not in reply.headers  # the provider's own error, not the bus's
    assert reply.headers["X-Road-Request-Id"]
