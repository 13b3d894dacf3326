"""Who may read the audit log; the citizen view, embargoes, keyed subjects and kept bodies.

Over the real processes; the demo instance is shared, so every test finds its own exchanges by
a unique purpose.
"""

from __future__ import annotations

import base64
import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from audit.bodies import BodyUnreadable, BodyVault
from audit.record import SealedBody
from keys import sealed
from tests.e2e.demo import RunningDemo
from tests.e2e.test_audit_api import (
    AUDIT,
    AUDITOR,
    PERSONS,
    api,
    api_key,
    ask,
    b64,
    by_kind,
    search,
    unique,
)
from tests.e2e.test_exchange import CONSUMER, PORTAL, PROVIDER
from xroad.cli.demo import DEMO_PERSON, DemoSettings
from xroad.proxy.layout import AUDIT_BODY_SEED_FILE, SERVERCONF_FILE
from xroad.serverconf import parse, write_atomically
from xroad.signing.message import digest

pytestmark = pytest.mark.e2e

VIEWER = "data-access-api-key"
# Бат-Эрдэнэ Дорж, the demo person's father (fixed seed data, adapters/civil/seed.py): no
# other test asks about him, so an embargo on him (embargoes cannot be lifted) breaks nothing.
EMBARGOED_PERSON = "УБ72031517"
NOBODY = "ЮЯ12345678"  # a well-formed register number that no query names


def accesses(demo: RunningDemo, server: str, person: str, key: str = VIEWER,
             after: int = -1, limit: int = 1000) -> list[dict[str, Any]]:
    reply = api(demo, server, f"{AUDIT}/data-access/{quote(person, safe='')}",
                {"after": after, "limit": limit}, key=key)
    assert reply.status_code == 200, reply.text
    doc = reply.json()
    assert doc["security_server"] == server
    found: list[dict[str, Any]] = doc["accesses"]
    return found


def audit_db(demo: RunningDemo, server: str) -> sqlite3.Connection:
    """The server's audit database, opened read-only (the server keeps writing)."""
    path = demo.server_dir(server) / "audit.db"
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


# -- the citizen view -----------------------------------------------------------------------


def test_a_citizen_sees_which_agency_asked_and_why(demo: RunningDemo) -> None:
    issue, user = unique("citizen portal: own record"), unique("officer")
    assert ask(demo, issue, user).status_code == 200
    for server in (CONSUMER, PROVIDER):
        request = by_kind(search(demo, server, issue=issue))["request"]
        since_mine = request["index"] - 1
        mine = accesses(demo, server, DEMO_PERSON, after=since_mine, limit=1)
        assert mine == [{"index": request["index"], "at": request["at"], "agency": PORTAL,
                         "service": PERSONS, "purpose": issue, "outcome": "ok"}]
        # Who at the agency asked stays with the auditors.
        reply = api(demo, server, f"{AUDIT}/data-access/{quote(DEMO_PERSON, safe='')}",
                    {"after": since_mine}, key=VIEWER)
        assert reply.status_code == 200
        assert issue in reply.text
        assert user not in reply.text
        # The number in lower case names the same person.
        assert accesses(demo, server, DEMO_PERSON.lower(), after=since_mine, limit=1) == mine


def test_the_citizen_view_pages(demo: RunningDemo) -> None:
    issues = [unique("paged view") for _ in range(2)]
    for issue in issues:
        assert ask(demo, issue, unique("officer")).status_code == 200
    path = f"{AUDIT}/data-access/{quote(DEMO_PERSON, safe='')}"
    start = by_kind(search(demo, PROVIDER, issue=issues[0]))["request"]["index"] - 1
    first = api(demo, PROVIDER, path, {"after": start, "limit": 1}, key=VIEWER).json()
    assert [a["purpose"] for a in first["accesses"]] == issues[:1]
    assert first["next_after"] == first["accesses"][0]["index"]
    second = api(demo, PROVIDER, path, {"after": first["next_after"], "limit": 1},
                 key=VIEWER).json()
    assert [a["purpose"] for a in second["accesses"]] == issues[1:]
    assert second["next_after"] == second["accesses"][0]["index"]
    both = api(demo, PROVIDER, path, {"after": start, "limit": 2}, key=VIEWER).json()
    assert both["accesses"] == first["accesses"] + second["accesses"]


def test_nobody_asked_about_an_unknown_person(demo: RunningDemo) -> None:
    for server in (CONSUMER, PROVIDER):
        assert accesses(demo, server, NOBODY) == []
        assert accesses(demo, server, NOBODY, key=AUDITOR) == []


@pytest.mark.parametrize("subject", [
    "УБ9911223", "УБ991122334", "99112233", "AB99112233", "hello", "УБ99112233 УБ72031517",
    "x УБ99112233", "УБ99112233x", "%D0%A3%D0%9199112233", "У" * 70])
def test_a_malformed_register_number_gets_400(demo: RunningDemo, subject: str) -> None:
    reply = api(demo, PROVIDER, f"{AUDIT}/data-access/{quote(subject, safe='')}", key=VIEWER)
    assert reply.status_code == 400, reply.text
    assert reply.json()["type"] == "BadRequest"
    assert "accesses" not in reply.json()


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "5000"}, {"after": "x"}])
def test_bad_pages_of_the_citizen_view_get_400(demo: RunningDemo,
                                               params: dict[str, str]) -> None:
    reply = api(demo, PROVIDER, f"{AUDIT}/data-access/{quote(DEMO_PERSON, safe='')}", params,
                key=VIEWER)
    assert reply.status_code == 400, reply.text
    assert reply.json()["type"] == "BadRequest"


# -- who may read ---------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "status"), [
    (None, 401), ("observer-api-key", 403), ("admin-api-key", 403),
    ("data-access-api-key", 403), (AUDITOR, 200)])
@pytest.mark.parametrize("path", ["/records", "/records/0", "/checkpoints",
                                  "/consistency?from=1"])
def test_only_auditors_read_the_log(demo: RunningDemo, key: str | None, status: int,
                                    path: str) -> None:
    for server in (CONSUMER, PROVIDER):
        reply = api(demo, server, AUDIT + path, key=key)
        assert reply.status_code == status, (server, reply.text)
        if status != 200:
            assert reply.json()["type"] == ("Unauthorized" if key is None else "Forbidden")
            assert set(reply.json()) == {"type", "message"}


@pytest.mark.parametrize(("key", "status"), [
    (None, 401), ("observer-api-key", 200), ("admin-api-key", 200),
    ("data-access-api-key", 403), (AUDITOR, 200)])
def test_operators_and_auditors_read_operational_data(demo: RunningDemo, key: str | None,
                                                      status: int) -> None:
    """Traffic for the server's operators (user ids and purposes withheld from them: see
    test_audit_api.py); the citizen view's key reads nothing else."""
    for server in (CONSUMER, PROVIDER):
        reply = api(demo, server, AUDIT + "/operational-data", key=key)
        assert reply.status_code == status, (server, reply.text)
        if status != 200:
            assert reply.json()["type"] == ("Unauthorized" if key is None else "Forbidden")


@pytest.mark.parametrize(("key", "status"), [
    (None, 401), ("observer-api-key", 403), ("admin-api-key", 403),
    ("data-access-api-key", 200), (AUDITOR, 200)])
def test_the_citizen_view_is_open_to_its_viewer_and_auditors(demo: RunningDemo, key: str | None,
                                                            status: int) -> None:
    reply = api(demo, PROVIDER, f"{AUDIT}/data-access/{quote(DEMO_PERSON, safe='')}", key=key)
    assert reply.status_code == status, reply.text


def test_auditors_and_viewers_change_nothing(demo: RunningDemo) -> None:
    admin = demo.server(PROVIDER)["admin_url"]
    embargo = {"register_number": "ЖЖ00000000", "until": "2099-01-01T00:00:00Z",
               "reason": "must be refused", "client": PORTAL}
    right = {"subject": PORTAL, "service": PERSONS, "method": "GET", "path": "/*/never"}
    for key in (AUDITOR, "data-access-api-key", "observer-api-key"):
        headers = api_key(demo, PROVIDER, key)
        for path, body in ((AUDIT + "/embargoes", embargo), ("/api/v1/access-rights", right),
                           ("/api/v1/access-rights/revoke", right)):
            reply = httpx.post(admin + path, json=body, headers=headers, timeout=30)
            assert reply.status_code == 403, (key, path, reply.text)
            assert reply.json()["type"] == "Forbidden"
    viewer = api_key(demo, PROVIDER, "data-access-api-key")
    for path in ("/api/v1/access-rights", "/api/v1/audit/checkpoint", "/metrics"):
        assert httpx.get(admin + path, headers=viewer, timeout=30).status_code == 403, path
    assert httpx.post(admin + AUDIT + "/seal", headers=viewer, timeout=30).status_code == 403


# -- embargoes ------------------------------------------------------------------------------


def post_embargo(demo: RunningDemo, server: str, body: object,
                 key: str = "admin-api-key") -> httpx.Response:
    return httpx.post(demo.server(server)["admin_url"] + AUDIT + "/embargoes", json=body,
                      headers=api_key(demo, server, key), timeout=30)


def test_an_embargo_hides_queries_from_the_citizen_but_not_from_auditors(
        demo: RunningDemo) -> None:
    issue = unique("investigation")
    reply = ask(demo, issue, unique("investigator"), person=EMBARGOED_PERSON)
    assert reply.status_code == 200, reply.text
    assert reply.json()["register_number"] == EMBARGOED_PERSON
    until = datetime.now(UTC) + timedelta(days=30)
    for server in (CONSUMER, PROVIDER):
        request = by_kind(search(demo, server, issue=issue))["request"]
        before = [a["index"] for a in accesses(demo, server, EMBARGOED_PERSON)]
        assert request["index"] in before

        added = post_embargo(demo, server, {
            "register_number": EMBARGOED_PERSON, "until": until.isoformat(),
            "reason": "investigation 2026/118", "client": PORTAL})
        assert added.status_code == 201, added.text
        assert added.json()["client"] == PORTAL
        assert datetime.fromisoformat(added.json()["until"]) == until

        assert accesses(demo, server, EMBARGOED_PERSON) == []
        assert accesses(demo, server, EMBARGOED_PERSON, key=AUDITOR) == []
        # The auditor's search still shows the exchange, and the log is unchanged.
        assert [r["kind"] for r in search(demo, server, issue=issue)] == ["request", "response"]
        # Other persons' views are untouched.
        assert any(a["agency"] == PORTAL for a in accesses(demo, server, DEMO_PERSON))
    # Queries made during the embargo are hidden as well.
    later = unique("investigation follow-up")
    assert ask(demo, later, unique("investigator"), person=EMBARGOED_PERSON).status_code == 200
    for server in (CONSUMER, PROVIDER):
        assert len(search(demo, server, issue=later)) == 2
        assert accesses(demo, server, EMBARGOED_PERSON) == []
    assert "audit.embargo_added" in demo.log("ss-MN_GOV_GASR_ss1")


@pytest.mark.parametrize("body", [
    {"register_number": NOBODY, "until": "2099-01-01T00:00:00", "reason": "r"},
    {"register_number": NOBODY, "until": "soon", "reason": "r"},
    {"register_number": NOBODY, "until": 4102444800, "reason": "r"},
    {"register_number": NOBODY, "until": "9999-12-31T23:59:59-01:00", "reason": "r"},
    {"register_number": NOBODY, "reason": "r"},
    {"register_number": NOBODY, "until": "2099-01-01T00:00:00Z"},
    {"register_number": NOBODY, "until": "2099-01-01T00:00:00Z", "reason": "  "},
    {"register_number": NOBODY, "until": "2099-01-01T00:00:00Z", "reason": "r",
     "client": "not a client"},
    {"register_number": NOBODY, "until": "2099-01-01T00:00:00Z", "reason": "r",
     "client": {"id": PORTAL}},
    {"register_number": "УБ9911223", "until": "2099-01-01T00:00:00Z", "reason": "r"},
    {"register_number": f"{NOBODY} {DEMO_PERSON}", "until": "2099-01-01T00:00:00Z",
     "reason": "r"},
    {"until": "2099-01-01T00:00:00Z", "reason": "r"},
    [NOBODY],
    "not an object",
], ids=["no-zone", "garbage-time", "number-time", "time-overflows", "no-until", "no-reason",
        "blank-reason", "bad-client", "object-client", "short-number", "two-numbers",
        "no-number", "list", "string"])
def test_bad_embargoes_get_400(demo: RunningDemo, body: object) -> None:
    reply = post_embargo(demo, PROVIDER, body)
    assert reply.status_code == 400, reply.text
    assert reply.json()["type"] == "BadRequest"
    assert "Traceback" not in reply.text


def test_an_unparsable_embargo_body_gets_400(demo: RunningDemo) -> None:
    reply = httpx.post(demo.server(PROVIDER)["admin_url"] + AUDIT + "/embargoes", timeout=30,
                       content=b"\xff{not json", headers={
                           **api_key(demo, PROVIDER, "admin-api-key"),
                           "Content-Type": "application/json"})
    assert reply.status_code == 400, reply.text
    assert reply.json()["type"] == "BadRequest"


# -- no register numbers in clear -----------------------------------------------------------


def test_the_log_stores_register_numbers_only_as_keyed_hashes(demo: RunningDemo) -> None:
    issue = unique("keyed")
    assert ask(demo, issue, unique("officer")).status_code == 200
    assert ask(demo, issue, unique("officer"), person=DEMO_PERSON,
               rest="/family").status_code == 200
    needles = (b"99112233", DEMO_PERSON.encode(), quote(DEMO_PERSON).encode())
    for server in (CONSUMER, PROVIDER):
        mine = {r["index"] for r in search(demo, server, issue=issue)}
        assert len(mine) == 4
        with contextlib.closing(audit_db(demo, server)) as conn:
            rows = conn.execute("SELECT * FROM audit_log").fetchall()
            columns = [c[0] for c in conn.execute("SELECT * FROM audit_log LIMIT 0").description]
            subjects = conn.execute("SELECT subject, idx FROM audit_subject").fetchall()
        assert mine <= {row[0] for row in rows}
        for row in rows:
            fields = dict(zip(columns, row, strict=True))
            leaf = json.loads(fields["leaf"])
            if fields["idx"] in mine:  # this test's records: not a trace, even in free text
                assert not any(n in fields["leaf"] for n in needles), leaf
            # X-Road's userId is whatever the caller's information system declares (the demo's
            # SOAP example sends the citizen's own number there); everything else is ours.
            del leaf["user_id"], fields["user_id"], fields["leaf"]
            text = json.dumps([leaf, fields], ensure_ascii=False, default=str).encode()
            assert not any(n in text for n in needles), fields["idx"]
        for subject, _ in subjects:
            assert len(subject) == 43
            assert not any(n in subject.encode() for n in needles)
        keys_of_mine = {subject for subject, idx in subjects if idx in mine}
        assert len(keys_of_mine) == 1  # every record of both queries names the same person
        for record in search(demo, server, issue=issue):
            assert record["subjects"] == sorted(keys_of_mine)


# -- kept bodies ----------------------------------------------------------------------------


def body_rows(demo: RunningDemo, server: str, indexes: list[int]
              ) -> dict[int, tuple[str, bytes, bytes]]:
    with contextlib.closing(audit_db(demo, server)) as conn:
        rows = conn.execute("SELECT idx, member, nonce, ciphertext FROM audit_body "
                            "WHERE idx BETWEEN ? AND ?", (min(indexes), max(indexes)))
        return {idx: (member, bytes(nonce), bytes(ct)) for idx, member, nonce, ct in rows
                if idx in indexes}


def exchange_records(demo: RunningDemo, server: str, issue: str) -> list[dict[str, Any]]:
    found = search(demo, server, issue=issue)
    assert [r["kind"] for r in found] == ["request", "response"], found
    return found


@contextlib.contextmanager
def keeping_bodies(path: Path, client: str) -> Iterator[None]:
    """`audit_bodies = true` for `client` in the provider's serverconf, restored afterwards."""
    original = path.read_text(encoding="utf-8")
    conf = parse(original)
    assert not conf.audit_bodies  # the demo default: metadata only
    [keeper] = [c for c in conf.clients if str(c) == client]
    write_atomically(path, replace(conf, audit_bodies=frozenset({keeper})))
    try:
        yield
    finally:
        tmp = path.with_name(path.name + ".restore")
        tmp.write_text(original, encoding="utf-8")
        tmp.replace(path)


def exchange_until(demo: RunningDemo, label: str, kept: bool) -> list[dict[str, Any]]:
    """Exchanges until the provider (re-reading serverconf) keeps bodies, or stops keeping
    them; the records of the exchange that shows it."""
    deadline = time.monotonic() + 15
    while True:
        issue = unique(label)
        assert ask(demo, issue, unique("officer")).status_code == 200
        records = exchange_records(demo, PROVIDER, issue)
        rows = body_rows(demo, PROVIDER, [r["index"] for r in records])
        if (len(rows) == 2) if kept else not rows:
            return records
        assert time.monotonic() < deadline, f"bodies kept: {sorted(rows)}, wanted {kept}"
        time.sleep(0.3)


def test_bodies_are_kept_sealed_only_where_configured(demo: RunningDemo) -> None:
    # Metadata only by default: no body on either side.
    issue = unique("metadata only")
    assert ask(demo, issue, unique("officer")).status_code == 200
    for server in (CONSUMER, PROVIDER):
        assert body_rows(demo, server, [r["index"]
                                        for r in exchange_records(demo, server, issue)]) == {}

    serverconf = demo.server_dir(PROVIDER) / SERVERCONF_FILE
    with keeping_bodies(serverconf, "MN/GOV/GASR/civil-registry"):
        records = exchange_until(demo, "bodies kept", kept=True)
        # The consumer keeps nothing: the portal did not ask for it.
        consumer = exchange_records(demo, CONSUMER, records[0]["issue"])
        assert body_rows(demo, CONSUMER, [r["index"] for r in consumer]) == {}

    pin = DemoSettings().token_pin.get_secret_value()
    vault = BodyVault(sealed.unseal(demo.server_dir(PROVIDER) / "token" / AUDIT_BODY_SEED_FILE,
                                    pin))
    rows = body_rows(demo, PROVIDER, [r["index"] for r in records])
    for record in records:
        member, nonce, ciphertext = rows[record["index"]]
        assert member == "MN/GOV/GASR"  # the provider's member key, not the consumer's
        for needle in (b"99112233", DEMO_PERSON.encode(), "Болд".encode(), b"register_number"):
            assert needle not in ciphertext
        body = SealedBody(member, nonce, ciphertext)
        parts = vault.open(body, record["message_digest"])
        # The body is exactly the signed parts: their digests are the manifest's.
        doc = api(demo, PROVIDER, f"{AUDIT}/records/{record['index']}").json()
        manifest = json.loads(b64(json.loads(b64(doc["signature"]))["manifest"]))
        assert [(p.content_type, digest(p.data)) for p in parts] == [
            (m["content_type"], m["digest"]) for m in manifest["parts"]]
        assert digest(parts[0].data) == record["message_digest"]
        # Bound to its record: it does not open as another record's body, or with another key.
        with pytest.raises(BodyUnreadable):
            vault.open(body, base64.b64encode(bytes(64)).decode())
        with pytest.raises(BodyUnreadable):
            vault.open(SealedBody("MN/GOV/EMONGOLIA", nonce, ciphertext),
                       record["message_digest"])
        with pytest.raises(BodyUnreadable):
            BodyVault(bytes(32)).open(body, record["message_digest"])
    # What was kept is the real exchange: the path asked about and the person answered with
    # (for REST the first part is the request line or status, the registry's JSON follows).
    request, response = (vault.open(SealedBody(*rows[r["index"]]), r["message_digest"])
                         for r in records)
    assert quote(DEMO_PERSON, safe="").encode() in request[0].data
    assert any(json.loads(p.data).get("register_number") == DEMO_PERSON for p in response[1:])

    # Restored: metadata only again.
    exchange_until(demo, "bodies no longer kept", kept=False)
