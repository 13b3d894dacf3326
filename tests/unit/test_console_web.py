"""The console's core over a scripted central server (httpx.MockTransport): sign-in and out,
cookies, CSRF, security headers, role checks for each page and role, the key each role sends,
and bad input answered with a form error or an error page, never a 500."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from xroad.clock import FixedClock
from xroad.console.accounts import hash_password
from xroad.console.app import DEFAULT_NAV, create_app
from xroad.console.db import ConsoleAccount
from xroad.console.roles import Role
from xroad.console.sessions import COOKIE
from xroad.console.settings import ConsoleSettings, ServerLinkSettings
from xroad.console.web import safe_next

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


def _signed_conf() -> bytes:
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
            return httpx.Response(200, content=_signed_conf())
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


@pytest.fixture
def world(tmp_path) -> Iterator[World]:
    made = make_world(tmp_path)
    with made.client:
        yield made


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def sign_in(world: World, role: Role, password: str = PASSWORD) -> httpx.Response:
    form = world.client.get("/sign-in")
    return world.client.post("/sign-in", data={
        "username": USERS[role], "password": password, "csrf_token": csrf_of(form.text)},
        follow_redirects=False)


# -- signing in and out --------------------------------------------------------------------


def test_sign_in_sets_a_strict_http_only_session_cookie_and_goes_back(world):
    assert world.client.get("/members", follow_redirects=False).headers["location"] == (
        "/sign-in?next=/members")
    form = world.client.get("/sign-in?next=/members")
    answer = world.client.post("/sign-in?next=/members", data={
        "username": "administrator", "password": PASSWORD, "next": "/members",
        "csrf_token": csrf_of(form.text)}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/members"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(COOKIE))
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/" in cookie
    assert world.client.get("/members").status_code == 200


def test_cookies_are_secure_unless_the_setting_says_otherwise(tmp_path):
    world = make_world(tmp_path, cookie_secure=True)
    with world.client:
        form = world.client.get("/sign-in")
        assert "Secure" in form.headers["set-cookie"]  # the sign-in form's CSRF cookie
        answer = world.client.post("/sign-in", data={
            "username": "auditor", "password": PASSWORD, "csrf_token": csrf_of(form.text)},
            cookies={"console_csrf": form.cookies["console_csrf"]}, follow_redirects=False)
        assert answer.status_code == 303
        assert "Secure" in answer.headers["set-cookie"]


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(world):
    wrong = sign_in(world, Role.AUDITOR, "not the password at all")
    assert wrong.status_code == 401
    assert "Wrong user name or password." in wrong.text
    form = world.client.get("/sign-in")
    unknown = world.client.post("/sign-in", data={
        "username": "nobody", "password": PASSWORD, "csrf_token": csrf_of(form.text)})
    assert unknown.status_code == 401
    assert "Wrong user name or password." in unknown.text


def test_failed_sign_ins_are_rate_limited_then_allowed_again(world):
    for _ in range(3):
        assert sign_in(world, Role.AUDITOR, "wrong password!!").status_code == 401
    limited = sign_in(world, Role.AUDITOR)  # the right password, but too late
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert "Too many failed sign-ins" in limited.text
    world.clock.advance(timedelta(seconds=61))
    assert sign_in(world, Role.AUDITOR).status_code == 303


def test_sign_out_ends_the_session_for_good(world):
    sign_in(world, Role.AUDITOR)
    session = world.client.cookies[COOKIE]
    home = world.client.get("/")
    out = world.client.post("/sign-out", data={"csrf_token": csrf_of(home.text)},
                            follow_redirects=False)
    assert out.status_code == 303
    world.client.cookies.set(COOKIE, session)  # a copy of the cookie kept by someone
    assert world.client.get("/", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\\evil",
                                    "javascript:alert(1)", "", None, "/ok\r\nX: y"])
def test_only_local_paths_are_followed_after_sign_in(target):
    assert safe_next(target) == "/"


def test_a_local_path_is_followed():
    assert safe_next("/members?q=gasr") == "/members?q=gasr"


# -- CSRF and headers ----------------------------------------------------------------------


def test_posts_without_the_sessions_csrf_token_are_refused(world):
    sign_in(world, Role.ADMINISTRATOR)
    body = {"member_class": "GOV", "member_code": "NEWCO", "name": "New Co"}
    for sent in (body, {**body, "csrf_token": "guessed"}):
        refused = world.client.post("/members", data=sent)
        assert refused.status_code == 403
        assert "Form refused" in refused.text
    assert world.central.posted == []
    token = csrf_of(world.client.get("/members").text)
    done = world.client.post("/members", data={**body, "csrf_token": token},
                             follow_redirects=False)
    assert done.status_code == 303
    assert world.central.posted == [{**body, "member_class": "GOV"}]


def test_the_sign_in_form_needs_its_own_token(world):
    refused = world.client.post("/sign-in", data={"username": "auditor", "password": PASSWORD})
    assert refused.status_code == 403


def test_every_answer_carries_the_security_headers(world):
    for path in ("/sign-in", "/static/console.css", "/no-such-page"):
        answer = world.client.get(path)
        assert "default-src 'self'" in answer.headers["content-security-policy"]
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert world.client.get("/sign-in").headers["cache-control"] == "no-store"


def test_pages_have_no_inline_script(world):
    sign_in(world, Role.ADMINISTRATOR)
    for path in ("/", "/members", "/registrations/1", "/globalconf"):
        html = world.client.get(path).text
        assert re.search(r"<script(?![^>]*\bsrc=)", html) is None, path
        assert not re.search(r"\son[a-z]+=", html), path  # no inline event handlers


# -- roles ---------------------------------------------------------------------------------

PAGES = {item.path: item.roles for item in DEFAULT_NAV.values()}
OWN_PAGES = {"/", "/members", "/registrations", "/globalconf", "/members/GOV/GASR",
             "/registrations/1"}
DETAIL_PAGES = {"/members/GOV/GASR": DEFAULT_NAV["members"].roles,
                "/registrations/1": DEFAULT_NAV["registrations"].roles}


@pytest.fixture(scope="module")
def signed_in(tmp_path_factory) -> Iterator[dict[Role, TestClient]]:
    """One console, a client signed in per role (the matrix below only reads)."""
    world = make_world(tmp_path_factory.mktemp("roles"))
    clients = {}
    for role in Role:
        client = TestClient(world.app, base_url="http://testserver")
        form = client.get("/sign-in")
        assert client.post("/sign-in", data={
            "username": USERS[role], "password": PASSWORD, "csrf_token": csrf_of(form.text)},
            follow_redirects=False).status_code == 303
        clients[role] = client
    yield clients
    for client in clients.values():
        client.close()


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("path", [*PAGES, *DETAIL_PAGES])
def test_each_page_admits_exactly_its_roles(signed_in, path, role):
    allowed = {**PAGES, **DETAIL_PAGES}[path]
    answer = signed_in[role].get(path, follow_redirects=False)
    if role in allowed and path in OWN_PAGES:
        assert answer.status_code == 200, answer.text[-800:]
    elif role in allowed:  # another helper's page over a security server that knows nothing
        assert answer.status_code not in (303, 403), answer.text[-800:]
        assert answer.status_code < 500, answer.text[-800:]
    else:
        assert answer.status_code == 403
        assert "Your role may not use this page." in answer.text


@pytest.mark.parametrize("path", [*PAGES, *DETAIL_PAGES])
def test_without_a_session_every_page_asks_to_sign_in(world, path):
    answer = world.client.get(path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/sign-in")


@pytest.mark.parametrize("role", list(Role))
def test_the_navigation_lists_only_the_roles_pages(signed_in, role):
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', signed_in[role].get("/").text, re.S)
    assert nav is not None
    linked = set(re.findall(r'href="([^"]+)"', nav.group(1)))
    assert linked == {item.path for item in DEFAULT_NAV.values() if role in item.roles}


@pytest.mark.parametrize(("role", "key"), [(Role.ADMINISTRATOR, "k-admin"),
                                           (Role.REGISTRATION_OFFICER, "k-officer"),
                                           (Role.AUDITOR, "k-auditor")])
def test_each_role_calls_the_central_server_with_its_own_key(world, role, key):
    sign_in(world, role)
    world.client.get("/members/GOV/GASR")
    used = {k for _, path, k in world.central.calls
            if path.startswith("/api/v1/") and not path.startswith("/api/v1/access-rights")}
    assert used == {key}


def test_only_deciders_see_and_use_the_decision_form(world):
    sign_in(world, Role.AUDITOR)
    page = world.client.get("/registrations/1")
    assert "Approve" not in page.text
    refused = world.client.post("/registrations/1/approve",
                                data={"csrf_token": csrf_of(page.text)})
    assert refused.status_code == 403
    assert world.central.posted == []


# -- pages and bad input -------------------------------------------------------------------


def test_an_approval_names_the_console_user_in_its_comment(world):
    sign_in(world, Role.REGISTRATION_OFFICER)
    token = csrf_of(world.client.get("/registrations/1").text)
    done = world.client.post("/registrations/1/approve",
                             data={"csrf_token": token, "comment": "contract signed"},
                             follow_redirects=False)
    assert done.status_code == 303
    assert world.central.posted == [{"comment": "contract signed [console: registration]"}]
    assert ("POST", "/api/v1/registration-requests/1/approve", "k-officer") in world.central.calls


def test_a_rejection_needs_a_comment(world):
    sign_in(world, Role.REGISTRATION_OFFICER)
    token = csrf_of(world.client.get("/registrations/1").text)
    refused = world.client.post("/registrations/1/reject", data={"csrf_token": token})
    assert refused.status_code == 400
    assert "Say why the request is rejected." in refused.text
    assert world.central.posted == []


@pytest.mark.parametrize(("fields", "message"), [
    ({"member_code": "bad code"}, "Use letters, digits"),
    ({"member_code": "x" * 300}, "At most 255 characters."),
    ({"member_code": ""}, "Required."),
    ({"name": "n" * 5000}, "At most 1000 characters."),
    ({"member_class": "<script>"}, "Use letters, digits"),
])
def test_bad_member_input_is_a_form_error(world, fields, message):
    sign_in(world, Role.ADMINISTRATOR)
    token = csrf_of(world.client.get("/members").text)
    body = {"member_class": "GOV", "member_code": "NEWCO", "name": "New Co", **fields,
            "csrf_token": token}
    answer = world.client.post("/members", data=body)
    assert answer.status_code == 400
    assert message in answer.text
    assert "<script>" not in answer.text  # escaped wherever it is shown
    assert world.central.posted == []


def test_the_central_servers_refusal_is_shown_on_the_form(world):
    sign_in(world, Role.ADMINISTRATOR)
    token = csrf_of(world.client.get("/members").text)
    answer = world.client.post("/members", data={
        "member_class": "GOV", "member_code": "GASR", "name": "again", "csrf_token": token})
    assert answer.status_code == 400
    assert "member MN/GOV/GASR exists" in answer.text


def test_bad_subsystem_code_is_a_form_error(world):
    sign_in(world, Role.ADMINISTRATOR)
    token = csrf_of(world.client.get("/members/GOV/GASR").text)
    answer = world.client.post("/members/GOV/GASR/subsystems",
                               data={"subsystem_code": "a/b", "csrf_token": token})
    assert answer.status_code == 400
    assert "Use letters, digits" in answer.text


@pytest.mark.parametrize(("path", "status"), [
    ("/members/GOV/bad%20code", 404), ("/members/GOV/NOBODY", 404),
    ("/registrations/abc", 400), ("/registrations/0", 400),
    ("/registrations/99999999999999999999", 400), ("/registrations/2", 404),
    ("/globalconf/download/passwd", 404), ("/lang/xx?next=//evil.example", 303),
])
def test_bad_paths_get_an_error_page_not_a_500(world, path, status):
    sign_in(world, Role.ADMINISTRATOR)
    answer = world.client.get(path, follow_redirects=False)
    assert answer.status_code == status
    if status == 303:
        assert answer.headers["location"] == "/"
    else:
        assert "<h1>" in answer.text


def test_a_huge_form_is_refused(world):
    sign_in(world, Role.ADMINISTRATOR)
    answer = world.client.post("/members", content=b"a=" + b"x" * 200_000,
                               headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 413


def test_a_certificate_expiring_soon_is_flagged(world):
    sign_in(world, Role.AUDITOR)
    page = world.client.get("/members/GOV/GASR").text
    assert "expires in 10 days" in page
    assert 'class="alert warn"' in page


def test_the_global_configuration_page_shows_what_is_served(world):
    sign_in(world, Role.SECURITY_SERVER_OPERATOR)
    page = world.client.get("/globalconf").text
    assert "<dd>7</dd>" in page
    assert "MN/GOV/GASR/civil" in page
    download = world.client.get("/globalconf/download/globalconf.json")
    assert download.status_code == 200
    assert download.content == _signed_conf()
    assert "attachment" in download.headers["content-disposition"]


def test_an_unreachable_central_server_is_an_error_page(tmp_path):
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    world = make_world(tmp_path, transport=httpx.MockTransport(down))
    with world.client:
        sign_in(world, Role.ADMINISTRATOR)
        answer = world.client.get("/members")
        assert answer.status_code == 502
        assert "cannot reach the central server" in answer.text
        home = world.client.get("/")
        assert home.status_code == 200  # the dashboard says so instead
        assert "cannot reach the central server" in home.text


def test_the_language_cookie_switches_to_mongolian(world):
    sign_in(world, Role.AUDITOR)
    switched = world.client.get("/lang/mn?next=/members", follow_redirects=False)
    assert switched.headers["location"] == "/members"
    page = world.client.get("/members").text
    assert '<html lang="mn">' in page
    assert "Гишүүд" in page
    world.client.get("/lang/en")
    assert "Members" in world.client.get("/members").text


def test_an_officer_files_the_centres_side_of_a_client_registration(world):
    sign_in(world, Role.REGISTRATION_OFFICER)
    token = csrf_of(world.client.get("/registrations").text)
    body = {"kind": "client-registration", "server": "MN/GOV/GASR/ss1",
            "client": "MN/COM/NEWCO/reports"}
    done = world.client.post("/registrations", data={**body, "csrf_token": token},
                             follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"].startswith("/registrations/1?notice=")
    assert world.central.posted == [body]
    assert ("POST", "/api/v1/registration-requests", "k-officer") in world.central.calls


@pytest.mark.parametrize(("fields", "message"), [
    ({"client": "not an identifier"}, "Not a client identifier"),
    ({"client": ""}, "Required."),
    ({"kind": "owner-change"}, "Choose one of the offered values."),
])
def test_a_bad_filed_request_is_a_form_error(world, fields, message):
    sign_in(world, Role.ADMINISTRATOR)
    token = csrf_of(world.client.get("/registrations").text)
    body = {"kind": "client-registration", "server": "MN/GOV/GASR/ss1",
            "client": "MN/COM/NEWCO/reports", **fields, "csrf_token": token}
    answer = world.client.post("/registrations", data=body)
    assert answer.status_code == 400
    assert message in answer.text
    assert world.central.posted == []


def test_an_auditor_files_nothing(world):
    sign_in(world, Role.AUDITOR)
    page = world.client.get("/registrations")
    assert 'action="/registrations"' not in page.text
    refused = world.client.post("/registrations", data={
        "kind": "client-registration", "server": "MN/GOV/GASR/ss1",
        "client": "MN/COM/NEWCO/reports", "csrf_token": csrf_of(page.text)})
    assert refused.status_code == 403
    assert world.central.posted == []


def test_a_request_shows_the_payload_its_requester_signed(world):
    sign_in(world, Role.AUDITOR)
    page = world.client.get("/registrations/1").text
    assert "Signed by MN/GOV/EMONGOLIA" in page
    assert "&#34;format&#34;: &#34;xroad-bus-management-request/1&#34;" in page
    assert "&#34;nonce&#34;: &#34;n1&#34;" in page
