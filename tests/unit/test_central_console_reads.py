"""What the web console reads from the central admin API beyond the registry lists: a
server's authentication certificates with their validity (flagged before they expire), and
the exact payload of a registration request (its signed content)."""

import hashlib
import json

from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from keys.devpki import new_key
from xroad.central.admin_api import admin_services, mount_admin_api
from xroad.central.roles import Role
from xroad.central.seed import InstanceSeed, MemberSeed, ServerSeed
from xroad.central.service import Registry
from xroad.clock import FixedClock
from xroad.identifiers import ClientId, SecurityServerId

SS1 = SecurityServerId.parse("MN/GOV/GASR/ss1")


def _world(tmp_path, ca, at):
    engine = create_engine(f"sqlite:///{tmp_path}/central.db")
    registry = Registry(engine, "MN")
    registry.apply_seed(InstanceSeed(
        instance="MN", member_classes=(("GOV", "government"),),
        members=(MemberSeed(ClientId.parse("MN/GOV/GASR"), "GASR", ("civil",)),),
        servers=(ServerSeed(SS1, (ClientId.parse("MN/GOV/GASR/civil"),)),)))
    cert = ca.issue_auth_cert(SS1, new_key().public_key(), at)
    registry.add_auth_cert(SS1, cert)
    services = admin_services(engine, FixedClock(at), "MN")
    app = FastAPI()
    mount_admin_api(app, services)
    client = TestClient(app)
    auditor = {"Authorization": "X-Road-ApiKey token="
               + services.keys.create(Role.AUDITOR, "t").token}
    officer = {"Authorization": "X-Road-ApiKey token="
               + services.keys.create(Role.REGISTRATION_OFFICER, "t").token}
    return client, cert, auditor, officer


def test_a_servers_auth_certs_with_their_validity(tmp_path, ca, at):
    client, cert, auditor, _ = _world(tmp_path, ca, at)
    found = client.get("/api/v1/security-servers/auth-certs", params={"server": str(SS1)},
                       headers=auditor)
    assert found.status_code == 200, found.text
    (doc,) = found.json()
    assert doc["sha256"] == hashlib.sha256(
        cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    assert doc["not_after"] == cert.not_valid_after_utc.isoformat()
    assert doc["subject"] == cert.subject.rfc4514_string()

    assert client.get("/api/v1/security-servers/auth-certs", params={"server": str(SS1)}
                      ).status_code == 401
    unknown = client.get("/api/v1/security-servers/auth-certs",
                         params={"server": "MN/GOV/GASR/ss9"}, headers=auditor)
    assert unknown.status_code == 404
    bad = client.get("/api/v1/security-servers/auth-certs", params={"server": "not an id"},
                     headers=auditor)
    assert bad.status_code == 400


def test_a_request_comes_with_the_payload_its_requester_made(tmp_path, ca, at):
    client, _, auditor, officer = _world(tmp_path, ca, at)
    filed = client.post("/api/v1/registration-requests", headers=officer, json={
        "kind": "client-registration", "server": str(SS1), "client": "MN/GOV/GASR/reports"})
    assert filed.status_code == 201, filed.text
    assert "payload" not in filed.json()  # lists and decisions stay small
    shown = client.get(f"/api/v1/registration-requests/{filed.json()['id']}", headers=auditor)
    doc = shown.json()
    payload = json.loads(doc["payload"])
    assert payload["kind"] == "client-registration"
    assert payload["client"] == "MN/GOV/GASR/reports"
    assert payload["server"] == str(SS1)
    assert doc["signed"] is False  # the central administration's own request
