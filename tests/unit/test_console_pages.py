"""The console's central-server pages over a scripted central server: approvals and
rejections, member and subsystem forms, certificates, global configuration, language, and
bad input answered with a form error or an error page, never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.unit.console_world import (
    World,
    csrf_of,
    make_world,
    sign_in,
    signed_conf,
)
from xroad.console.roles import Role


@pytest.fixture
def world(tmp_path) -> Iterator[World]:
    made = make_world(tmp_path)
    with made.client:
        yield made


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
    assert download.content == signed_conf()
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
