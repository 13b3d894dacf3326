"""The console's core over a scripted central server (httpx.MockTransport): a console app
with one account per role, a fake central server, and how tests sign in."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from xroad.clock import FixedClock
from xroad.console.accounts import hash_password
from xroad.console.app import create_app
from xroad.console.db import ConsoleAccount
from xroad.console.roles import Role
from xroad.console.settings import ConsoleSettings, ServerLinkSettings

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PASSWORD = "a long test password"  # TEST ONLY
CENTRAL_KEYS = {"admin-api-key": "k-admin", "officer-api-key": "k-officer",  # TEST ONLY
                "auditor-api-key": "k-auditor"}
MEMBER = {"id": "MN/GOV/GASR", "member_class": "GOV", "member_code": "GASR",
          "name": "General Authority for State Registration", "subsystems": ["civil-registry"],
          "servers": ["MN/GOV/GASR/ss1"]}
REQUEST = {"id": 1, "kind": "client-registration", "origin": "security-server",
           "server": "MN/GOV/EMONGOLIA/ss1", "client": "MN/COM/NEWCO/reports",
           "address": None, "auth_cert_sha256": None, "status": "submitted",
           "signer": "MN/GOV/EMONGOLIA", "submitted_by": "security-server", "comment": "",
           "created_at": "2026-11-25T11:00:00+00:00", "decided_at": None, "decided_by": None,
           "complement_id": None,
           "history": [{"at": "2026-11-25T11:00:00+00:00", "actor": "security-server",
                        "action": "submitted", "comment": ""}],
           "payload": '{"client":"MN/COM/NEWCO/reports","format":"xroad-bus-management-'
                      'request/1","kind":"client-registration","nonce":"n1"}',
           "signed": True}


def signed_conf() -> bytes:
    content = {"members": [{"id": "MN/GOV/GASR", "name": "GASR", "subsystems": ["civil"]}],
               "security_servers": [{"id": "MN/GOV/GASR/ss1", "address": "https://x",
                                     "clients": ["MN/GOV/GASR/civil"]}]}
    return json.dumps({"content": base64.b64encode(json.dumps(content).encode()).decode()}
                      ).encode()


@dataclass
class FakeCentral:
    """The central server as far as the console uses it; records (method, path, key)."""

    calls: list[tuple[str, str, str]] = field(default_factory=list)
    posted: list[Any] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:  # noqa: PLR0911 - routes
        key = request.headers.get("Authorization", "").removeprefix("X-Road-ApiKey token=")
        path = request.url.path
        self.calls.append((request.method, path, key))
        if request.method == "POST":
            body = json.loads(request.content)
            self.posted.append(body)
            if path == "/api/v1/members" and body["member_code"] == "GASR":
                return httpx.Response(409, json={"type": "Conflict",
                                                 "message": "member MN/GOV/GASR exists"})
            return httpx.Response(200, json={**REQUEST, "status": "approved"})
        routes: dict[str, Any] = {
            "/api/v1/members": [MEMBER],
            "/api/v1/security-servers": [{"id": "MN/GOV/GASR/ss1", "address": "https://x",
                                          "auth_cert_sha256": [], "clients": []}],
            "/api/v1/member-classes": [{"code": "GOV", "description": "", "auto_approve": 0}],
            "/api/v1/members/GOV/GASR": {**MEMBER, "owned_servers": [
                {"id": "MN/GOV/GASR/ss1", "address": "https://x", "auth_cert_sha256": ["ab"],
                 "clients": []}], "registered_on": []},
            "/api/v1/security-servers/auth-certs": [
                {"sha256": "ab" * 32, "subject": "CN=ss1", "issuer": "CN=ca",
                 "not_before": "2026-01-01T00:00:00+00:00",
                 "not_after": (NOW + timedelta(days=10)).isoformat()}],
            "/api/v1/registration-requests": [REQUEST],
            "/api/v1/registration-requests/1": REQUEST,
            "/globalconf/status": {
                "instance": "MN", "version": 7, "content_sha256": "cd" * 32,
                "generated_at": NOW.isoformat(),
                "expires_at": (NOW + timedelta(minutes=10)).isoformat(),
                "signing_key": {"key_id": "k1", "cert_sha256": "ef" * 32, "subject": "CN=conf",
                                "not_after": "2027-01-01T00:00:00+00:00"},
                "next_keys": [], "federated_instances": []},
        }
        if request.url.host == "ss.test":  # a security server: no rights, nothing logged
            if path == "/api/v1/access-rights":
                return httpx.Response(200, json=[
                    {"subject": "MN/GOV/EMONGOLIA/portal",
                     "service": "MN/GOV/GASR/civil-registry/persons"}])
            return httpx.Response(404, json={"type": "NotFound", "message": f"no {path}"})
        if path == "/globalconf":
            return httpx.Response(200, content=signed_conf())
        if path in routes:
            return httpx.Response(200, json=routes[path])
        return httpx.Response(404, json={"type": "NotFound", "message": f"no {path}"})


USERS = {Role.ADMINISTRATOR: "administrator", Role.REGISTRATION_OFFICER: "registration",
         Role.AUDITOR: "auditor", Role.SECURITY_SERVER_OPERATOR: "security",
         Role.CITIZEN: "citizen"}


@dataclass
class World:
    client: TestClient
    central: FakeCentral
    clock: FixedClock
    app: Any


def make_world(tmp_path: Path, *, cookie_secure: bool = False,
               transport: httpx.MockTransport | None = None) -> World:
    keys = tmp_path / "central"
    keys.mkdir(exist_ok=True)
    for name, value in CENTRAL_KEYS.items():
        (keys / name).write_text(value + "\n")
    server_keys = tmp_path / "ss"
    server_keys.mkdir(exist_ok=True)
    for name in ("admin-api-key", "observer-api-key", "auditor-api-key",
                 "data-access-api-key"):
        (server_keys / name).write_text(f"k-ss-{name}\n")
    settings = ConsoleSettings(data_dir=tmp_path / "console", central_url="http://central.test",
                               central_key_dir=keys, cookie_secure=cookie_secure,
                               sign_in_max_failures=3, sign_in_window_s=60,
                               servers=(ServerLinkSettings(id="MN/GOV/GASR/ss1",
                                                           admin_url="http://ss.test",
                                                           key_dir=server_keys),))
    central = FakeCentral()
    clock = FixedClock(NOW)
    app = create_app(settings, clock, transport or httpx.MockTransport(central))
    with Session(app.state.console.accounts.engine) as s, s.begin():
        for role, username in USERS.items():  # as Accounts.add, without hashing five times
            s.add(ConsoleAccount(username=username, role=str(role), password_hash=_HASH,
                                 register_number="УБ99112233" if role is Role.CITIZEN else None,
                                 created_at=NOW.replace(tzinfo=None)))
    return World(TestClient(app, base_url="http://testserver"), central, clock, app)


_HASH = hash_password(PASSWORD)






def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def sign_in(world: World, role: Role, password: str = PASSWORD) -> httpx.Response:
    form = world.client.get("/sign-in")
    return world.client.post("/sign-in", data={
        "username": USERS[role], "password": password, "csrf_token": csrf_of(form.text)},
        follow_redirects=False)
