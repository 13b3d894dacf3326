"""The security-server pages (audit, traffic, citizen view, access rights) over a scripted
admin API (httpx.MockTransport): who may see what, which key each role sends, CSRF, and how
the servers' answers and refusals appear. The real servers are in tests/console/."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi.testclient import TestClient

from audit.checkpoint import Checkpoint, sign
from audit.checkpointer import key_name
from audit.merkle import inclusion_proof, leaf_hash, root
from xroad.console.app import create_app
from xroad.console.i18n import Translations
from xroad.console.pages.citizen import merge
from xroad.console.roles import Role
from xroad.console.sessions import COOKIE
from xroad.console.settings import ConsoleSettings, ServerLinkSettings
from xroad.console.web import ConsoleContext

SERVER = "MN/GOV/GASR/ss1"
KEYS = {"admin-api-key": "k-admin", "observer-api-key": "k-observer",  # TEST ONLY
        "auditor-api-key": "k-auditor", "data-access-api-key": "k-data-access"}
LOG_KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))  # TEST ONLY
LEAVES = [json.dumps({"at": "2026-11-25T10:00:00+00:00", "kind": "request", "n": i}).encode()
          for i in range(5)]
PERSON = "УБ99112233"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass
class FakeServer:
    """The security server's admin API as far as these pages use it; records every call."""

    calls: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, key
    rights: list[dict[str, str]] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:  # noqa: PLR0911 - a route table
        if request.url.host == "central.test":
            return httpx.Response(200, json=[{"id": "MN/GOV/EMONGOLIA", "name": "E-Mongolia",
                                              "subsystems": ["portal"]}])
        key = request.headers.get("Authorization", "").removeprefix("X-Road-ApiKey token=")
        path = request.url.path
        self.calls.append((request.method, path, key))
        if path == "/api/v1/access-rights" and request.method == "GET":
            return httpx.Response(200, json=self.rights)
        if path.startswith("/api/v1/access-rights"):
            doc = json.loads(request.content)
            if doc["subject"] == "bad":
                return httpx.Response(400, json={"type": "BadRequest",
                                                 "message": "not a client identifier: 'bad'"})
            self.rights.append(doc)
            return httpx.Response(201, json=doc)
        if path == "/api/v1/audit/records":
            return httpx.Response(200, json={"records": [
                {"index": 3, "at": "2026-11-25T10:00:00+00:00", "kind": "request",
                 "client": "MN/GOV/EMONGOLIA/portal", "service": "MN/GOV/GASR/x/getPerson",
                 "user_id": "officer-7", "issue": "case 42", "outcome": "ok",
                 "message_id": "m-1"}], "next_after": None})
        if path == "/api/v1/audit/records/3":
            return httpx.Response(200, json=record_doc(3))
        if path.startswith("/api/v1/audit/data-access/"):
            return httpx.Response(200, json={"security_server": SERVER, "next_after": None,
                                             "accesses": [
                {"index": 1, "at": "2026-11-25T10:00:00+00:00",
                 "agency": "MN/GOV/EMONGOLIA/portal", "service": "MN/GOV/GASR/x/persons",
                 "purpose": "benefit application", "outcome": "ok"}]})
        if path == "/api/v1/audit/operational-data":
            return httpx.Response(200, json={"records": [], "nextRecordsFrom": None})
        return httpx.Response(404, json={"type": "NotFound", "message": path})


def record_doc(index: int) -> dict[str, Any]:
    hashes = [leaf_hash(leaf) for leaf in LEAVES]
    note = sign(Checkpoint(f"{SERVER} audit log", len(LEAVES), root(hashes)),
                key_name(SERVER), LOG_KEY)
    return {"index": index, "record": json.loads(LEAVES[index]), "leaf": b64(LEAVES[index]),
            "leaf_hash": b64(hashes[index]), "signature": None,
            "proof": {"tree_size": len(LEAVES), "root": b64(root(hashes)),
                      "audit_path": [b64(h) for h in inclusion_proof(hashes, index)]},
            "checkpoint": note.decode()}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[TestClient, FakeServer]]:
    key_dir = tmp_path / "ss1"
    key_dir.mkdir()
    for name, value in KEYS.items():
        (key_dir / name).write_text(value + "\n")
    (key_dir / "audit-log.pub").write_text(b64(LOG_KEY.public_key().public_bytes_raw()))
    central_keys = tmp_path / "central"
    central_keys.mkdir()
    settings = ConsoleSettings(
        data_dir=tmp_path / "console", central_url="http://central.test",
        central_key_dir=central_keys, cookie_secure=False, log_json=False,
        servers=(ServerLinkSettings(id=SERVER, admin_url="http://ss1.test:4100",
                                    key_dir=key_dir),))
    fake = FakeServer()
    app = create_app(settings, transport=httpx.MockTransport(fake))
    with TestClient(app, follow_redirects=False) as http:
        yield http, fake


def sign_in(http: TestClient, role: Role, register_number: str | None = None) -> str:
    """Sign in as a new user of `role`; the session's CSRF token."""
    ctx: ConsoleContext = http.app.state.console  # type: ignore[attr-defined]
    user = ctx.accounts.add(f"u-{role}", role, "a long enough password", register_number)
    session_id, active = ctx.sessions.start(user)
    http.cookies.set(COOKIE, session_id)
    return active.csrf_token


def test_only_operators_change_access_rights_with_the_admin_key(
        world: tuple[TestClient, FakeServer]) -> None:
    http, fake = world
    token = sign_in(http, Role.SECURITY_SERVER_OPERATOR)
    page = http.get("/access-rights")
    assert page.status_code == 200
    assert 'action="/access-rights/grant"' in page.text
    form = {"csrf_token": token, "server": SERVER, "subject": "MN/GOV/EMONGOLIA/portal",
            "service": "MN/GOV/GASR/civil-registry/persons", "method": "get", "path": "/{id}"}
    done = http.post("/access-rights/grant", data=form)
    assert done.status_code == 303
    assert "done=granted" in done.headers["location"]
    assert fake.rights == [{"subject": "MN/GOV/EMONGOLIA/portal",
                            "service": "MN/GOV/GASR/civil-registry/persons",
                            "method": "GET", "path": "/{id}"}]
    assert ("POST", "/api/v1/access-rights", "k-admin") in fake.calls
    assert "MN/GOV/GASR/civil-registry/persons" in http.get(done.headers["location"]).text


def test_a_refused_grant_shows_the_servers_reason(world: tuple[TestClient, FakeServer]) -> None:
    http, _ = world
    token = sign_in(http, Role.SECURITY_SERVER_OPERATOR)
    page = http.post("/access-rights/grant", data={
        "csrf_token": token, "server": SERVER, "subject": "bad",
        "service": "MN/GOV/GASR/civil-registry/persons"})
    assert page.status_code == 400
    assert "not a client identifier: &#39;bad&#39;" in page.text
    half = http.post("/access-rights/grant", data={
        "csrf_token": token, "server": SERVER, "subject": "MN/GOV/EMONGOLIA/portal",
        "service": "MN/GOV/GASR/civil-registry/persons", "method": "GET"})
    assert half.status_code == 400


def test_a_grant_without_the_csrf_token_is_refused(world: tuple[TestClient, FakeServer]) -> None:
    http, fake = world
    sign_in(http, Role.SECURITY_SERVER_OPERATOR)
    page = http.post("/access-rights/grant", data={"csrf_token": "forged", "server": SERVER,
                                                   "subject": "MN/GOV/EMONGOLIA/portal",
                                                   "service": "MN/GOV/GASR/x/persons"})
    assert page.status_code == 403
    assert not fake.rights


def test_administrators_read_access_rights_with_the_observer_key_only(
        world: tuple[TestClient, FakeServer]) -> None:
    http, fake = world
    token = sign_in(http, Role.ADMINISTRATOR)
    page = http.get("/access-rights")
    assert page.status_code == 200
    assert 'action="/access-rights/grant"' not in page.text
    assert fake.calls == [("GET", "/api/v1/access-rights", "k-observer")]
    assert http.post("/access-rights/revoke", data={"csrf_token": token}).status_code == 403


def test_the_audit_pages_are_for_auditors(world: tuple[TestClient, FakeServer]) -> None:
    http, fake = world
    sign_in(http, Role.SECURITY_SERVER_OPERATOR)
    assert http.get("/audit").status_code == 403
    assert not fake.calls


def test_search_and_a_record_with_its_proof_checked_by_the_console(
        world: tuple[TestClient, FakeServer]) -> None:
    http, fake = world
    sign_in(http, Role.AUDITOR)
    page = http.get("/audit", params={"server": SERVER, "message_id": "m-1",
                                      "since": "2026-11-25T09:00"})
    assert page.status_code == 200
    assert f"/audit/records/3?server={SERVER.replace('/', '%2F')}" in page.text
    assert "case 42" in page.text
    record = http.get("/audit/records/3", params={"server": SERVER})
    assert record.status_code == 200
    assert 'id="server-check" data-verified="true"' in record.text
    assert "data-proof " in record.text or "data-proof\n" in record.text
    assert '<script src="/static/proof.js"' in record.text
    assert {key for _, _, key in fake.calls} == {"k-auditor"}


def test_a_citizen_sees_only_their_own_number(world: tuple[TestClient, FakeServer]) -> None:
    http, fake = world
    sign_in(http, Role.CITIZEN, PERSON)
    page = http.get("/citizen", params={"register_number": "ЮЯ12345678"})
    assert page.status_code == 200
    assert "benefit application" in page.text
    assert "E-Mongolia" in page.text  # the agency's member name
    (call,) = fake.calls
    assert call[0:2] == ("GET", "/api/v1/audit/data-access/" + PERSON)
    assert call[2] == "k-data-access"


def test_an_auditor_looks_up_any_valid_number(world: tuple[TestClient, FakeServer]) -> None:
    http, fake = world
    sign_in(http, Role.AUDITOR)
    assert "register_number" in http.get("/citizen").text
    assert not fake.calls
    assert http.get("/citizen", params={"register_number": "'; drop"}).status_code == 400
    page = http.get("/citizen", params={"register_number": "уб99112233"})
    assert page.status_code == 200
    assert fake.calls[-1][2] == "k-auditor"


def test_traffic_charts_for_auditors_and_operators(world: tuple[TestClient, FakeServer]) -> None:
    http, fake = world
    sign_in(http, Role.SECURITY_SERVER_OPERATOR)
    page = http.get("/traffic")
    assert page.status_code == 200
    assert page.text.count("<svg") == 3  # exchanges per minute, latency and faults
    assert fake.calls == [("GET", "/api/v1/audit/operational-data", "k-observer")]
    sign_in(http, Role.AUDITOR)
    page = http.get("/traffic")
    assert page.status_code == 200
    assert page.text.count("<svg") == 3
    assert fake.calls[-1][1:] == ("/api/v1/audit/operational-data", "k-auditor")


def test_every_text_these_pages_use_is_translated() -> None:
    templates = Path(__file__).parents[2] / "xroad" / "console" / "templates"
    used = set()
    for folder in ("audit", "traffic", "citizen", "access"):
        for page in (templates / folder).glob("*.html"):
            used |= set(re.findall(r"""t\(["']((?:audit|traffic|citizen|access)\.[\w.]*\w)["']""",
                                   page.read_text()))
    texts = Translations.load().texts
    assert len(used) > 80
    for lang in ("en", "mn"):
        assert used <= set(texts[lang]), (lang, used - set(texts[lang]))
    assert {"audit.kinds.request", "audit.kinds.response", "access.done.granted",
            "access.done.revoked"} <= set(texts["mn"])


def test_both_sides_of_one_query_are_one_row_newest_first() -> None:
    def access(at: str, purpose: str) -> dict[str, Any]:
        return {"at": at, "agency": "MN/GOV/EMONGOLIA/portal", "service": "MN/GOV/GASR/x/p",
                "purpose": purpose, "outcome": "ok"}

    rows = merge([("ss-a", access("2026-11-25T10:00:00+00:00", "benefit")),
                  ("ss-b", access("2026-11-25T10:00:01+00:00", "benefit")),
                  ("ss-a", access("2026-11-25T10:05:00+00:00", "benefit")),
                  ("ss-b", access("2026-11-25T10:00:02+00:00", "tax check"))],
                 {"MN/GOV/EMONGOLIA": "E-Mongolia"})
    assert [(r.at[11:19], r.purpose, r.recorded_by) for r in rows] == [
        ("10:05:00", "benefit", ["ss-a"]),
        ("10:00:02", "tax check", ["ss-b"]),
        ("10:00:00", "benefit", ["ss-a", "ss-b"])]
    assert {r.agency_name for r in rows} == {"E-Mongolia"}
