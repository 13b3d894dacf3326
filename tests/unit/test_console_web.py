"""The console's core over a scripted central server (httpx.MockTransport): sign-in and out,
cookies, CSRF, security headers, role checks for each page and role, and the key each role
sends (pages and bad input: test_console_pages.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.unit.console_world import (
    PASSWORD,
    USERS,
    World,
    csrf_of,
    make_world,
    sign_in,
)
from xroad.console.app import DEFAULT_NAV
from xroad.console.roles import Role
from xroad.console.sessions import COOKIE
from xroad.console.web import safe_next


@pytest.fixture
def world(tmp_path) -> Iterator[World]:
    made = make_world(tmp_path)
    with made.client:
        yield made


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
