"""The central admin API over a real (SQLite) registry: roles, bad input, signed management
requests, decisions, the audit trail, and refusals that leave nothing behind."""

import base64
import json
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from keys.devpki import new_key
from keys.token import SoftwareToken
from xroad.central.admin_api import admin_services, mount_admin_api
from xroad.central.members import Members
from xroad.central.models import AdminAuditEntry, Member, RegistrationRequest, Subsystem
from xroad.central.requests import RequestKind, SignedRequest, new_request, sign_request
from xroad.central.roles import Role
from xroad.central.seed import InstanceSeed, MemberSeed, ServerSeed
from xroad.central.service import Registry
from xroad.clock import FixedClock
from xroad.identifiers import ClientId, SecurityServerId

PIN = "pin"
GASR = ClientId.parse("MN/GOV/GASR")
SS1 = SecurityServerId.parse("MN/GOV/GASR/ss1")
SS2 = SecurityServerId.parse("MN/GOV/GASR/ss2")


@pytest.fixture
def world(tmp_path, ca, at, make_signer):
    engine = create_engine(f"sqlite:///{tmp_path}/central.db")
    registry = Registry(engine, "MN")
    registry.apply_seed(InstanceSeed(
        instance="MN", member_classes=(("GOV", "government"), ("COM", "companies")),
        members=(MemberSeed(GASR, "General Authority for State Registration", ("civil",)),),
        servers=(ServerSeed(SS1, (ClientId.parse("MN/GOV/GASR/civil"),)),)))
    registry.add_approved_ca("root", ca.root)
    registry.add_approved_ca("issuing", ca.issuing)
    clock = FixedClock(at + timedelta(minutes=5))
    changes: list[int] = []
    services = admin_services(engine, clock, "MN", on_change=lambda: changes.append(1))
    app = FastAPI()
    mount_admin_api(app, services)
    tokens = {role: services.keys.create(role, f"test {role}").token for role in Role}
    auth_key = new_key()
    token = SoftwareToken(tmp_path / "token")
    token.store("auth", auth_key, [ca.issue_auth_cert(SS2, auth_key.public_key(), at),
                                   *ca.chain], PIN)
    return {"engine": engine, "client": TestClient(app), "tokens": tokens, "clock": clock,
            "changes": changes, "signer": make_signer(ca), "auth": token.unlock("auth", PIN),
            "services": services}


def _as(world, role, scheme="X-Road-ApiKey"):
    token = world["tokens"][role]
    value = f"X-Road-ApiKey token={token}" if scheme == "X-Road-ApiKey" else f"Bearer {token}"
    return {"Authorization": value}


ADMIN, OFFICER, AUDITOR = Role.ADMINISTRATOR, Role.REGISTRATION_OFFICER, Role.AUDITOR
NEWCO = {"member_class": "COM", "member_code": "NEWCO", "name": "New Co LLC"}


def _count(world, table):
    with Session(world["engine"]) as s:
        return s.scalar(select(func.count()).select_from(table))


def _signed_body(world, kind=RequestKind.AUTH_CERT_REGISTRATION, signer=None, **details):
    signer = signer or world["signer"]
    if kind is RequestKind.AUTH_CERT_REGISTRATION:
        details.setdefault("auth_cert", world["auth"].certificate)
    request = new_request(kind, SS2 if "auth_cert" in details else SS1, world["clock"].now(),
                          **details)
    signed = sign_request(request, signer, list(signer.chain), world["clock"].now(),
                          auth_signer=world["auth"] if "auth_cert" in details else None)
    return _wire(signed)


def _wire(signed: SignedRequest):
    def b64(data):
        return None if data is None else base64.b64encode(data).decode()
    return {"payload": b64(signed.payload), "signature": b64(signed.signature),
            "proof_of_possession": b64(signed.proof_of_possession)}


# -- authentication and roles -------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "X-Road-ApiKey token=00000000.nope"},
    {"Authorization": "X-Road-ApiKey 12345678.x"}, {"Authorization": "Basic dXNlcjpwdw=="},
    {"Authorization": "Bearer"}], ids=["none", "unknown", "no-token=", "basic", "empty-bearer"])
def test_without_a_valid_key_everything_is_401(world, headers):
    reply = world["client"].get("/api/v1/members", headers=headers)
    assert reply.status_code == 401
    assert reply.json() == {"type": "Unauthorized", "message": "missing or unknown API key"}
    assert "X-Road-ApiKey" in reply.headers["WWW-Authenticate"]


@pytest.mark.parametrize("scheme", ["X-Road-ApiKey", "Bearer"])
def test_every_role_reads_with_either_header(world, scheme):
    for role in Role:
        reply = world["client"].get("/api/v1/members", headers=_as(world, role, scheme))
        assert reply.status_code == 200, reply.text
        assert [m["id"] for m in reply.json()] == ["MN/GOV/GASR"]


@pytest.mark.parametrize(("role", "method", "path", "body"), [
    (OFFICER, "post", "/api/v1/members", NEWCO),
    (AUDITOR, "post", "/api/v1/members", NEWCO),
    (OFFICER, "post", "/api/v1/members/GOV/GASR/subsystems", {"subsystem_code": "x"}),
    (AUDITOR, "post", "/api/v1/registration-requests/1/approve", {"comment": ""}),
    (AUDITOR, "post", "/api/v1/registration-requests/1/reject", {"comment": "no"}),
    (OFFICER, "get", "/api/v1/admin-audit", None),
    (OFFICER, "get", "/api/v1/api-keys", None),
    (AUDITOR, "post", "/api/v1/api-keys", {"role": "administrator", "name": "me"}),
])
def test_least_privilege(world, role, method, path, body):
    before = _count(world, AdminAuditEntry), _count(world, Member)
    reply = getattr(world["client"], method)(path, headers=_as(world, role),
                                             **({} if body is None else {"json": body}))
    assert reply.status_code == 403
    assert reply.json()["type"] == "Forbidden"
    assert (_count(world, AdminAuditEntry), _count(world, Member)) == before


def test_a_revoked_key_stops_working_at_once(world):
    client = world["client"]
    made = client.post("/api/v1/api-keys", headers=_as(world, ADMIN),
                       json={"role": "registration-officer", "name": "second officer"})
    assert made.status_code == 201
    token = made.json()["token"]
    headers = {"Authorization": f"X-Road-ApiKey token={token}"}
    assert client.get("/api/v1/registration-requests", headers=headers).status_code == 200
    listed = client.get("/api/v1/api-keys", headers=_as(world, ADMIN)).json()
    assert all("token" not in k for k in listed)
    key_id = made.json()["key_id"]
    assert client.post(f"/api/v1/api-keys/{key_id}/revoke",
                       headers=_as(world, ADMIN)).status_code == 200
    assert client.get("/api/v1/registration-requests", headers=headers).status_code == 401
    assert client.post("/api/v1/api-keys/ffffffff/revoke",
                       headers=_as(world, ADMIN)).status_code == 404


# -- members and subsystems ----------------------------------------------------------------

def test_an_administrator_registers_a_member_and_subsystem(world):
    client, admin = world["client"], _as(world, ADMIN)
    made = client.post("/api/v1/members", headers=admin, json=NEWCO)
    assert made.status_code == 201, made.text
    assert made.json()["id"] == "MN/COM/NEWCO"
    sub = client.post("/api/v1/members/COM/NEWCO/subsystems", headers=admin,
                      json={"subsystem_code": "reports"})
    assert sub.status_code == 201
    shown = client.get("/api/v1/members/COM/NEWCO", headers=_as(world, AUDITOR)).json()
    assert (shown["name"], shown["subsystems"]) == ("New Co LLC", ["reports"])
    assert world["changes"] == [1, 1]  # prompt publication asked for twice
    gasr = client.get("/api/v1/members/GOV/GASR", headers=admin).json()
    assert gasr["owned_servers"][0]["id"] == "MN/GOV/GASR/ss1"
    assert gasr["registered_on"] == [{"client": "MN/GOV/GASR/civil",
                                      "server": "MN/GOV/GASR/ss1", "enabled": True}]


@pytest.mark.parametrize(("body", "status", "kind", "message"), [
    ({**NEWCO, "member_class": "XYZ"}, 400, "BadRequest", "unknown member class 'XYZ'"),
    ({**NEWCO, "member_code": "NEW CO"}, 400, "InvalidClientIdentifier", "NEW CO"),
    ({**NEWCO, "member_code": "Шинэ"}, 400, "InvalidClientIdentifier", "Шинэ"),
    ({**NEWCO, "member_code": "a/b"}, 400, "InvalidClientIdentifier", "a/b"),
    ({**NEWCO, "name": "  "}, 400, "BadRequest", "needs a name"),
    ({**NEWCO, "member_code": "GASR", "member_class": "GOV"}, 409, "Conflict",
     "exists already"),
    ({"member_class": "COM", "member_code": "NEWCO"}, 400, "BadRequest", "name"),
    ({**NEWCO, "extra": 1}, 400, "BadRequest", "extra"),
    ({**NEWCO, "name": 5}, 400, "BadRequest", "name"),
], ids=["unknown-class", "space", "cyrillic", "slash", "blank-name", "duplicate",
        "missing-name", "unknown-field", "name-not-text"])
def test_bad_members_are_refused_and_nothing_is_written(world, body, status, kind, message):
    before = _count(world, Member), _count(world, AdminAuditEntry)
    reply = world["client"].post("/api/v1/members", headers=_as(world, ADMIN), json=body)
    assert reply.status_code == status, reply.text
    assert reply.json()["type"] == kind
    assert message in reply.json()["message"]
    assert (_count(world, Member), _count(world, AdminAuditEntry)) == before
    assert world["changes"] == []


def test_bad_subsystems_are_refused(world):
    client, admin = world["client"], _as(world, ADMIN)
    cases = [("/api/v1/members/COM/NOBODY/subsystems", {"subsystem_code": "x"}, 404),
             ("/api/v1/members/GOV/GASR/subsystems", {"subsystem_code": "civil"}, 409),
             ("/api/v1/members/GOV/GASR/subsystems", {"subsystem_code": "a b"}, 400)]
    before = _count(world, Subsystem)
    for path, body, status in cases:
        assert client.post(path, headers=admin, json=body).status_code == status
    assert _count(world, Subsystem) == before
    assert client.get("/api/v1/members/COM/NOBODY", headers=admin).status_code == 404


def test_malformed_and_oversized_bodies(world):
    client, admin = world["client"], _as(world, ADMIN)
    reply = client.post("/api/v1/members", headers={**admin, "Content-Type": "application/json"},
                        content=b'{"member_class": ')
    assert (reply.status_code, reply.json()["type"]) == (400, "BadRequest")
    big = json.dumps({**NEWCO, "name": "x" * 70_000}).encode()
    reply = client.post("/api/v1/members", headers={**admin, "Content-Type": "application/json"},
                        content=big)
    assert (reply.status_code, reply.json()["type"]) == (413, "TooLarge")

    def chunks():  # no Content-Length: counted as it streams
        yield b'{"payload": "'
        for _ in range(20):
            yield b"A" * 4096
        yield b'"}'
    reply = client.post("/api/v1/management-requests", content=chunks(),
                        headers={"Content-Type": "application/json"})
    assert (reply.status_code, reply.json()["type"]) == (413, "TooLarge")
    assert _count(world, Member) == 1


def test_unknown_routes_and_bugs_answer_in_the_same_shape(world, monkeypatch):
    reply = world["client"].get("/api/v1/nothing-here", headers=_as(world, ADMIN))
    assert reply.status_code == 404
    assert set(reply.json()) == {"type", "message"}

    def broken(self):
        raise RuntimeError("secret detail")
    monkeypatch.setattr(Members, "all", broken)
    client = TestClient(world["client"].app, raise_server_exceptions=False)
    reply = client.get("/api/v1/members", headers=_as(world, AUDITOR))
    assert reply.status_code == 500
    assert reply.json() == {"type": "InternalError",
                            "message": "internal error; see the central server's log"}


# -- registration requests -----------------------------------------------------------------

def test_a_signed_request_waits_for_an_officer(world):
    client = world["client"]
    sent = client.post("/api/v1/management-requests", json=_signed_body(world))
    assert sent.status_code == 201, sent.text
    request_id = sent.json()["id"]
    assert (sent.json()["status"], sent.json()["signer"]) == ("submitted", "MN/GOV/GASR")
    assert world["changes"] == []
    waiting = client.get("/api/v1/registration-requests?status=submitted",
                         headers=_as(world, AUDITOR)).json()
    assert [r["id"] for r in waiting] == [request_id]
    assert client.post(f"/api/v1/registration-requests/{request_id}/approve",
                       headers=_as(world, AUDITOR), json={}).status_code == 403
    approved = client.post(f"/api/v1/registration-requests/{request_id}/approve",
                           headers=_as(world, OFFICER), json={"comment": "paper form seen"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert approved.json()["decided_by"].startswith("test registration-officer (key:")
    assert world["changes"] == [1]
    shown = client.get(f"/api/v1/registration-requests/{request_id}",
                       headers=_as(world, OFFICER)).json()
    assert [h["action"] for h in shown["history"]] == ["submitted", "approved"]
    again = client.post(f"/api/v1/registration-requests/{request_id}/approve",
                        headers=_as(world, OFFICER), json={})
    assert (again.status_code, again.json()["type"]) == (409, "Conflict")
    servers = client.get("/api/v1/security-servers", headers=_as(world, AUDITOR)).json()
    assert "MN/GOV/GASR/ss2" in [s["id"] for s in servers]


def test_rejection_needs_a_reason(world):
    client = world["client"]
    request_id = client.post("/api/v1/management-requests", json=_signed_body(world)).json()["id"]
    path = f"/api/v1/registration-requests/{request_id}/reject"
    assert client.post(path, headers=_as(world, OFFICER), json={"comment": " "}
                       ).status_code == 400
    rejected = client.post(path, headers=_as(world, OFFICER), json={"comment": "no form"})
    assert (rejected.status_code, rejected.json()["status"]) == (200, "rejected")
    assert client.get("/api/v1/registration-requests?status=bogus",
                      headers=_as(world, OFFICER)).status_code == 400
    assert client.get("/api/v1/registration-requests/999",
                      headers=_as(world, OFFICER)).status_code == 404


def test_unsigned_forged_and_foreign_requests_are_refused(world, foreign_ca, make_signer):
    client = world["client"]
    good = _signed_body(world)
    foreign = make_signer(foreign_ca)
    cases = {
        "not-base64": ({**good, "signature": "***"}, "BadRequest"),
        "unsigned": ({**good, "signature": base64.b64encode(b"nothing").decode()},
                     "MalformedSignature"),
        "tampered": ({**good, "payload": base64.b64encode(base64.b64decode(good["payload"])
                                                          .replace(b"ss2", b"ss9")).decode()},
                     "InvalidSignature"),
        "no-proof": ({**good, "proof_of_possession": None}, "MalformedSignature"),
        "foreign-ca": (_signed_body(world, signer=foreign), "CertificateError"),
        "not-json": ({"payload": "e30="}, "BadRequest"),
    }
    for name, (body, kind) in cases.items():
        reply = client.post("/api/v1/management-requests", json=body)
        assert reply.status_code == 400, (name, reply.text)
        assert reply.json()["type"] == kind, (name, reply.json())
    assert _count(world, RegistrationRequest) == 0


def test_a_member_may_not_sign_for_another_members_server(world, make_signer, ca):
    Members(world["engine"], "MN", world["clock"]).add_member(
        ClientId.parse("MN/COM/KHANBANK"), "Khan Bank")
    bank = make_signer(ca, "MN/COM/KHANBANK")
    reply = world["client"].post("/api/v1/management-requests",
                                 json=_signed_body(world, signer=bank))
    assert (reply.status_code, reply.json()["type"]) == (400, "InvalidSignature")
    assert "may not sign" in reply.json()["message"]


def test_requests_from_both_sides_are_matched(world):
    client = world["client"]
    center = client.post("/api/v1/registration-requests", headers=_as(world, OFFICER), json={
        "kind": "client-registration", "server": "MN/GOV/GASR/ss1",
        "client": "MN/GOV/GASR/land"})
    assert (center.status_code, center.json()["status"]) == (201, "submitted"), center.text
    server_side = client.post("/api/v1/management-requests", json=_signed_body(
        world, RequestKind.CLIENT_REGISTRATION, client=ClientId.parse("MN/GOV/GASR/land")))
    assert server_side.json()["status"] == "approved"
    assert server_side.json()["complement_id"] == center.json()["id"]
    assert world["changes"] == [1]
    bad = client.post("/api/v1/registration-requests", headers=_as(world, OFFICER), json={
        "kind": "client-registration", "server": "MN/GOV/GASR/ss1"})
    assert (bad.status_code, bad.json()["message"]) == (400, "a client-registration request "
                                                              "needs a client")
    assert client.post("/api/v1/registration-requests", headers=_as(world, OFFICER), json={
        "kind": "no-such-kind", "server": "MN/GOV/GASR/ss1"}).status_code == 400


# -- audit trail ---------------------------------------------------------------------------

def test_every_change_is_in_the_audit_trail(world):
    client = world["client"]
    client.post("/api/v1/members", headers=_as(world, ADMIN), json=NEWCO)
    client.post("/api/v1/members/COM/NEWCO/subsystems", headers=_as(world, ADMIN),
                json={"subsystem_code": "reports"})
    client.post("/api/v1/members", headers=_as(world, ADMIN), json=NEWCO)  # refused: 409
    request_id = client.post("/api/v1/management-requests", json=_signed_body(world)).json()["id"]
    client.post(f"/api/v1/registration-requests/{request_id}/approve",
                headers=_as(world, OFFICER), json={"comment": "ok"})
    client.post("/api/v1/global-groups", headers=_as(world, ADMIN),
                json={"code": "tax-auditors", "description": "Tax auditors"})
    client.post("/api/v1/global-groups/tax-auditors/members", headers=_as(world, ADMIN),
                json={"client": "MN/COM/NEWCO/reports"})
    trail = client.get("/api/v1/admin-audit", headers=_as(world, AUDITOR)).json()
    assert trail["total"] == 5
    assert [e["action"] for e in reversed(trail["entries"])] == [
        "member.add", "subsystem.add", "registration.approve", "global-group.add",
        "global-group.add-member"]
    member, sub, approve = list(reversed(trail["entries"]))[:3]
    assert member["before"] is None
    assert member["after"]["id"] == "MN/COM/NEWCO"
    assert member["role"] == "administrator"
    assert member["actor"].startswith("test administrator (key:")
    assert (sub["before"]["subsystems"], sub["after"]["subsystems"]) == ([], ["reports"])
    assert approve["target"] == f"registration-request:{request_id}"
    assert (approve["before"]["status"], approve["after"]["status"]) == ("submitted", "approved")
    assert approve["role"] == "registration-officer"
    page = client.get("/api/v1/admin-audit?limit=2&action=member.add",
                      headers=_as(world, ADMIN)).json()
    assert (page["total"], len(page["entries"])) == (1, 1)
    groups = client.get("/api/v1/global-groups", headers=_as(world, OFFICER)).json()
    assert groups[0]["members"] == ["MN/COM/NEWCO/reports"]


def test_the_api_is_in_the_openapi_document(world):
    doc = world["client"].get("/openapi.json").json()
    for path in ("/api/v1/members", "/api/v1/registration-requests/{request_id}/approve",
                 "/api/v1/management-requests", "/api/v1/admin-audit"):
        assert path in doc["paths"]
