"""The auditor API over the real processes: search, export, proofs, operational data, bad input.

The demo instance is shared by the whole e2e session, so every test finds its own exchanges by
a unique purpose (`X-Road-Issue`) and user id, never by position in the log.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from audit.checkpoint import Checkpoint, verify
from audit.checkpointer import key_name
from audit.merkle import ProofError, verify_consistency, verify_inclusion
from tests.e2e.demo import RunningDemo
from tests.e2e.test_exchange import CONSUMER, PORTAL, PROVIDER, client_url
from xroad.cli.demo import DEMO_PERSON
from xroad.proxy.audit_api import CSV_FIELDS

pytestmark = pytest.mark.e2e

PERSONS = "MN/GOV/GASR/civil-registry/persons"
AUDIT = "/api/v1/audit"
AUDITOR = "auditor-api-key"
ULAANBAATAR = timezone(timedelta(hours=8))


def person_path(person: str, rest: str = "") -> str:
    return f"/r1/{PERSONS}/{quote(person, safe='')}{rest}"


def api_key(demo: RunningDemo, server: str, name: str) -> dict[str, str]:
    token = (demo.server_dir(server) / name).read_text().strip()
    return {"Authorization": f"X-Road-ApiKey token={token}"}


def api(demo: RunningDemo, server: str, path: str, params: dict[str, Any] | None = None,
        key: str | None = AUDITOR) -> httpx.Response:
    headers = api_key(demo, server, key) if key is not None else {}
    return httpx.get(demo.server(server)["admin_url"] + path, params=params, headers=headers,
                     timeout=30)


def unique(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:12]}"


def ask(demo: RunningDemo, issue: str, user_id: str, person: str = DEMO_PERSON,
        rest: str = "") -> httpx.Response:
    """The portal's REST query about `person`, with a stated purpose and user id."""
    return httpx.get(client_url(demo) + person_path(person, rest), timeout=30, headers={
        "X-Road-Client": PORTAL, "X-Road-Id": str(uuid.uuid4()), "X-Road-UserId": user_id,
        "X-Road-Issue": issue})


def search(demo: RunningDemo, server: str, **params: Any) -> list[dict[str, Any]]:
    reply = api(demo, server, AUDIT + "/records", params)
    assert reply.status_code == 200, reply.text
    found: list[dict[str, Any]] = reply.json()["records"]
    return found


def by_kind(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    kinds = {r["kind"]: r for r in records}
    assert len(kinds) == len(records), records
    return kinds


def public_key(demo: RunningDemo, server: str) -> ed25519.Ed25519PublicKey:
    raw = base64.b64decode((demo.server_dir(server) / "audit-log.pub").read_text())
    return ed25519.Ed25519PublicKey.from_public_bytes(raw)


def checked(demo: RunningDemo, server: str, note: str) -> Checkpoint:
    """The checkpoint in `note`, verified with the server's published log key."""
    checkpoint = verify(note.encode(), key_name(server), public_key(demo, server))
    assert checkpoint.origin == f"{server} audit log"
    return checkpoint


def seal(demo: RunningDemo, server: str) -> Checkpoint:
    reply = httpx.post(demo.server(server)["admin_url"] + AUDIT + "/seal", timeout=60,
                       headers=api_key(demo, server, AUDITOR))
    assert reply.status_code == 200, reply.text
    return checked(demo, server, reply.json()["checkpoint"])


def b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def sha512_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha512(data).digest()).decode()


# -- search ---------------------------------------------------------------------------------


def test_both_sides_record_the_exchange_with_its_purpose_and_user(demo: RunningDemo) -> None:
    issue, user = unique("case"), unique("officer")
    reply = ask(demo, issue, user)
    assert reply.status_code == 200, reply.text
    request_id, message_id = reply.headers["X-Road-Request-Id"], reply.headers["X-Road-Id"]

    sides = {}
    for server in (CONSUMER, PROVIDER):
        found = search(demo, server, issue=issue)
        side = sides[server] = by_kind(found)
        assert set(side) == {"request", "response"}, found
        assert side["request"]["index"] < side["response"]["index"]
        for record in found:
            assert record["client"] == PORTAL
            assert record["service"] == PERSONS
            assert record["user_id"] == user
            assert record["issue"] == issue
            assert record["outcome"] == "ok"
            assert record["security_server"] == server
            assert record["message_id"] == message_id
            assert record["request_id"] == request_id
        assert side["response"]["latency_ms"] > 0
        # Searching by another field finds the same records.
        assert search(demo, server, user_id=user) == found
        assert search(demo, server, request_id=request_id) == found
        assert search(demo, server, message_id=message_id, kind="response") == [side["response"]]
    # The two logs describe the same signed bytes.
    for kind in ("request", "response"):
        for field in ("message_digest", "signature_digest", "signer_cert_sha256"):
            assert sides[CONSUMER][kind][field] == sides[PROVIDER][kind][field], (kind, field)


def test_pages_are_keyset_paginated(demo: RunningDemo) -> None:
    issue = unique("paging")
    assert ask(demo, issue, unique("officer")).status_code == 200
    for server in (CONSUMER, PROVIDER):
        everything = search(demo, server, issue=issue)
        assert len(everything) == 2
        first = api(demo, server, AUDIT + "/records", {"issue": issue, "limit": 1}).json()
        assert first["records"] == everything[:1]
        assert first["next_after"] == everything[0]["index"]
        second = api(demo, server, AUDIT + "/records",
                     {"issue": issue, "limit": 1, "after": first["next_after"]}).json()
        assert second["records"] == everything[1:]
        assert second["next_after"] == everything[1]["index"]
        rest = api(demo, server, AUDIT + "/records",
                   {"issue": issue, "limit": 1, "after": second["next_after"]}).json()
        assert rest == {"records": [], "next_after": None}
        whole = api(demo, server, AUDIT + "/records", {"issue": issue, "limit": 2}).json()
        assert whole["records"] == everything


def test_csv_export_has_a_header_and_every_row(demo: RunningDemo) -> None:
    issue, user = unique("csv"), unique("officer")
    assert ask(demo, issue, user).status_code == 200
    for server in (CONSUMER, PROVIDER):
        reply = api(demo, server, AUDIT + "/records", {"issue": issue, "format": "csv"})
        assert reply.status_code == 200, reply.text
        assert reply.headers["content-type"].startswith("text/csv")
        lines = reply.text.splitlines()
        assert lines[0] == ",".join(CSV_FIELDS)
        rows = list(csv.DictReader(io.StringIO(reply.text)))
        expected = search(demo, server, issue=issue)
        assert [int(r["index"]) for r in rows] == [r["index"] for r in expected]
        assert [r["kind"] for r in rows] == ["request", "response"]
        for row, record in zip(rows, expected, strict=True):
            assert (row["client"], row["service"]) == (PORTAL, PERSONS)
            assert (row["user_id"], row["issue"], row["outcome"]) == (user, issue, "ok")
            assert row["request_id"] == record["request_id"]
            assert row["signature_digest"] == record["signature_digest"]
            assert row["security_server"] == server


def test_time_client_and_outcome_filters(demo: RunningDemo) -> None:
    issue = unique("filters")
    assert ask(demo, issue, unique("officer")).status_code == 200
    for server in (CONSUMER, PROVIDER):
        side = by_kind(search(demo, server, issue=issue))
        request, response = side["request"], side["response"]
        request_at = datetime.fromisoformat(request["at"])
        response_at = datetime.fromisoformat(response["at"])
        assert request_at < response_at

        def kinds(server: str = server, **params: Any) -> list[str]:
            return [r["kind"] for r in search(demo, server, issue=issue, **params)]

        # since is inclusive, until exclusive; any zone names the same instant.
        assert kinds(since=request["at"]) == ["request", "response"]
        assert kinds(since=response_at.astimezone(ULAANBAATAR).isoformat()) == ["response"]
        assert kinds(until=response_at.isoformat().replace("+00:00", "Z")) == ["request"]
        assert kinds(since=request["at"], until=response["at"]) == ["request"]
        assert kinds(until=request_at.astimezone(ULAANBAATAR).isoformat()) == []
        assert kinds(since=(response_at + timedelta(microseconds=1)).isoformat()) == []
        # A member finds its subsystems; a bare prefix of a code finds nothing.
        for client in (PORTAL, "MN/GOV/EMONGOLIA", "MN/GOV", "MN"):
            assert kinds(client=client) == ["request", "response"], client
        for client in ("MN/GOV/EMONGOLI", "MN/GOV/GASR", "MN/GOV/EMONGOLIA/portal/x", "%"):
            assert kinds(client=client) == [], client
        assert kinds(service="MN/GOV/GASR/civil-registry") == ["request", "response"]
        assert kinds(service="MN/GOV/GASR/civil-registry/getPerson") == []
        assert kinds(outcome="ok") == ["request", "response"]
        assert kinds(outcome="fault") == []
        assert kinds(kind="request") == ["request"]
        assert search(demo, server, issue=issue[-8:]) == search(demo, server, issue=issue)


def test_faults_are_found_by_outcome(demo: RunningDemo) -> None:
    issue = unique("denied")
    reply = ask(demo, issue, unique("officer"), rest="/no/such/endpoint")
    assert reply.status_code == 500, reply.text
    code = reply.headers["X-Road-Error"]
    assert code == "Server.ServerProxy.AccessDenied"
    for server in (CONSUMER, PROVIDER):
        faults = search(demo, server, issue=issue, outcome="fault")
        assert [r["kind"] for r in faults] == ["response"], faults
        assert faults[0]["outcome"] == code
        assert search(demo, server, issue=issue, outcome=code) == faults
        assert all(r["outcome"] == "ok" for r in search(demo, server, issue=issue,
                                                         outcome="ok"))
    # The provider refused before recording the request as accepted.
    assert search(demo, PROVIDER, issue=issue, kind="request") == []


# -- proofs ---------------------------------------------------------------------------------


def test_a_record_comes_with_its_proof_in_a_signed_checkpoint(demo: RunningDemo) -> None:
    issue = unique("proof")
    assert ask(demo, issue, unique("officer")).status_code == 200
    for server in (CONSUMER, PROVIDER):
        sealed = seal(demo, server)
        for summary in search(demo, server, issue=issue):
            index = summary["index"]
            assert index < sealed.size
            reply = api(demo, server, f"{AUDIT}/records/{index}")
            assert reply.status_code == 200, reply.text
            doc = reply.json()
            leaf = b64(doc["leaf"])
            assert doc["index"] == index
            assert json.loads(leaf) == doc["record"]
            assert {"index": index, **doc["record"]} == summary
            assert b64(doc["leaf_hash"]) == hashlib.sha256(b"\x00" + leaf).digest()
            # The newest checkpoint (ours, or one the scheduler signed since) holds the record.
            checkpoint = checked(demo, server, doc["checkpoint"])
            assert checkpoint.size >= sealed.size
            proof = doc["proof"]
            assert proof["tree_size"] == checkpoint.size
            assert b64(proof["root"]) == checkpoint.root
            path = [b64(h) for h in proof["audit_path"]]
            verify_inclusion(b64(doc["leaf_hash"]), index, checkpoint.size, path,
                             checkpoint.root)
            with pytest.raises(ProofError):
                verify_inclusion(hashlib.sha256(b"\x00" + leaf + b" ").digest(), index,
                                 checkpoint.size, path, checkpoint.root)
            # The signature kept as evidence is the exact part the record's digest names.
            signature = b64(doc["signature"])
            assert sha512_b64(signature) == doc["record"]["signature_digest"]
            manifest = json.loads(b64(json.loads(signature)["manifest"]))
            assert manifest["direction"] == doc["record"]["kind"]
            assert manifest["request_id"] == doc["record"]["request_id"]
            assert manifest["parts"][0]["digest"] == doc["record"]["message_digest"]


def test_a_proof_for_an_older_tree_size_is_consistent_with_the_checkpoint(
        demo: RunningDemo) -> None:
    issue = unique("old-size")
    assert ask(demo, issue, unique("officer")).status_code == 200
    index = by_kind(search(demo, PROVIDER, issue=issue))["response"]["index"]
    checkpoint = seal(demo, PROVIDER)
    doc = api(demo, PROVIDER, f"{AUDIT}/records/{index}", {"size": index + 1}).json()
    proof = doc["proof"]
    assert proof["tree_size"] == index + 1
    old_root = b64(proof["root"])
    verify_inclusion(b64(doc["leaf_hash"]), index, index + 1,
                     [b64(h) for h in proof["audit_path"]], old_root)
    reply = api(demo, PROVIDER, AUDIT + "/consistency",
                {"from": index + 1, "to": checkpoint.size})
    assert reply.status_code == 200, reply.text
    assert (reply.json()["from"], reply.json()["to"]) == (index + 1, checkpoint.size)
    verify_consistency(index + 1, checkpoint.size, old_root, checkpoint.root,
                       [b64(h) for h in reply.json()["proof"]])


def test_checkpoint_history_is_consistent_with_the_newest(demo: RunningDemo) -> None:
    for server in (CONSUMER, PROVIDER):
        first = seal(demo, server)
        assert ask(demo, unique("history"), unique("officer")).status_code == 200
        second = seal(demo, server)
        assert second.size >= first.size + 2

        reply = api(demo, server, AUDIT + "/checkpoints")
        assert reply.status_code == 200, reply.text
        history = reply.json()["checkpoints"]
        sizes = [c["size"] for c in history]
        assert sizes == sorted(set(sizes))
        assert {first.size, second.size} <= set(sizes)
        newest = checked(demo, server, history[-1]["note"])
        assert newest.size == sizes[-1] >= second.size
        for entry in history:
            checkpoint = checked(demo, server, entry["note"])
            assert checkpoint.size == entry["size"]
            datetime.fromisoformat(entry["created_at"])
            if checkpoint.size:
                verify_consistency(checkpoint.size, newest.size, checkpoint.root, newest.root,
                                   [b64(h) for h in entry["consistency_to_newest"]])
        sealed_entries = [e for e in history if e["size"] in (first.size, second.size)]
        assert all(e["timestamped"] for e in sealed_entries)

        reply = api(demo, server, AUDIT + "/consistency",
                    {"from": first.size, "to": second.size})
        assert reply.status_code == 200, reply.text
        proof = [b64(h) for h in reply.json()["proof"]]
        verify_consistency(first.size, second.size, first.root, second.root, proof)
        with pytest.raises(ProofError):  # the proof binds these two roots, no others
            verify_consistency(first.size, second.size, second.root, first.root, proof)


# -- operational data -------------------------------------------------------------------------


def test_operational_data_uses_x_road_field_names(demo: RunningDemo) -> None:
    issue, user = unique("opmon"), unique("officer")
    reply = ask(demo, issue, user)
    assert reply.status_code == 200, reply.text
    for server, side in ((CONSUMER, "client"), (PROVIDER, "provider")):
        found = api(demo, server, AUDIT + "/operational-data",
                    {"service": PERSONS, "issue": issue})
        assert found.status_code == 200, found.text
        [record] = found.json()["records"]  # responses only: one per exchange
        response = by_kind(search(demo, server, issue=issue))["response"]
        assert record["id"] == response["index"]
        assert record["monitoringDataTs"] == response["at"]
        assert record["securityServerType"] == ("Client" if side == "client" else "Producer")
        assert (record["clientXRoadInstance"], record["clientMemberClass"],
                record["clientMemberCode"], record["clientSubsystemCode"]) == (
            "MN", "GOV", "EMONGOLIA", "portal")
        assert (record["serviceXRoadInstance"], record["serviceMemberClass"],
                record["serviceMemberCode"], record["serviceSubsystemCode"],
                record["serviceCode"]) == ("MN", "GOV", "GASR", "civil-registry", "persons")
        assert record["messageId"] == reply.headers["X-Road-Id"]
        assert record["xRequestId"] == reply.headers["X-Road-Request-Id"]
        assert (record["messageUserId"], record["messageIssue"]) == (user, issue)
        assert record["succeeded"] is True
        assert record["faultCode"] is None
        assert record["totalDuration"] == response["latency_ms"] > 0
        assert found.json()["nextRecordsFrom"] is None


def test_operators_see_traffic_without_who_asked_or_why(demo: RunningDemo) -> None:
    """The observer key (operators' traffic page) reads operational data, with the user id,
    purpose and represented party withheld, and may not search by them; the role matrix
    elsewhere stays: it reads no records."""
    issue, user = unique("opmon-observer"), unique("officer")
    reply = ask(demo, issue, user)
    assert reply.status_code == 200, reply.text
    message_id = reply.headers["X-Road-Id"]
    found = api(demo, PROVIDER, AUDIT + "/operational-data", {"message_id": message_id},
                key="observer-api-key")
    assert found.status_code == 200, found.text
    [record] = found.json()["records"]
    assert record["messageId"] == message_id
    assert record["succeeded"] is True
    assert record["totalDuration"] > 0
    assert (record["messageUserId"], record["messageIssue"],
            record["representedPartyCode"]) == (None, None, None)
    for probe in ({"issue": issue}, {"user_id": user}):
        refused = api(demo, PROVIDER, AUDIT + "/operational-data", probe,
                      key="observer-api-key")
        assert refused.status_code == 400, refused.text
        assert "only auditors" in refused.json()["message"]
    assert api(demo, PROVIDER, AUDIT + "/records", {"message_id": message_id},
               key="observer-api-key").status_code == 403


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "params"), [
    ("/records", {"since": "2026-11-25T10:00:00"}),
    ("/records", {"since": "yesterday"}),
    ("/records", {"until": "2026-13-45T99:00:00Z"}),
    ("/records", {"since": "9999-12-31T23:59:59-01:00"}),
    ("/records", {"until": "0001-01-01T00:00:00+01:00"}),
    ("/records", {"limit": "0"}),
    ("/records", {"limit": "100000"}),
    ("/records", {"limit": "-1"}),
    ("/records", {"limit": "1e3"}),
    ("/records", {"after": "abc"}),
    ("/records", {"after": "9" * 40}),
    ("/records", {"client": "M" * 600}),
    ("/records", {"issue": "x" * 513}),
    ("/records", {"kind": "other"}),
    ("/records/abc", {}),
    ("/records/-1", {}),
    ("/records/1.5", {}),
    ("/records/" + "9" * 30, {}),
    ("/records/0", {"size": "0"}),
    ("/records/0", {"size": "many"}),
    ("/consistency", {"from": "0"}),
    ("/consistency", {"from": "abc"}),
    ("/consistency", {"from": "2", "to": "1"}),
    ("/consistency", {"from": str(2**40)}),
    ("/operational-data", {"since": "now"}),
    ("/operational-data", {"limit": "0"}),
    ("/operational-data", {"service": "s" * 600}),
], ids=lambda v: v if isinstance(v, str) else "-".join(f"{k}={str(x)[:12]}" for k, x in v.items()))
def test_bad_queries_get_a_clear_400(demo: RunningDemo, path: str,
                                     params: dict[str, str]) -> None:
    reply = api(demo, PROVIDER, AUDIT + path, params)
    assert reply.status_code == 400, reply.text
    assert reply.json()["type"] == "BadRequest"
    assert reply.json()["message"]
    assert "Traceback" not in reply.text


def test_a_record_beyond_the_log_is_not_found(demo: RunningDemo) -> None:
    size = seal(demo, PROVIDER).size
    for index in (size + 10_000, 2**62):
        reply = api(demo, PROVIDER, f"{AUDIT}/records/{index}")
        assert reply.status_code == 404, reply.text
        assert reply.json()["type"] == "NotFound"
