"""The console's central-server side in a real browser, against a real demo: signing in (a
wrong password, then the rate limit), registering a member and a subsystem through the UI, the
security server's signed request approved by a registration officer in the UI, the result in
global configuration, the Mongolian interface, role limits and CSRF protection.

The security server's own request is made as its operator would, with `xroad server register`
(signed with the server owner's key): the console is the central administration's tool.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.console.conftest import ConsoleDemo, sign_in, sign_out

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api",
                             reason="Playwright (Python) is not installed").expect

CONSUMER = "MN/GOV/EMONGOLIA/ss1"
NEWCO = "MN/COM/NEWCO"
REPORTS = "MN/COM/NEWCO/reports"
Shoot = Callable[[Any, str], Any]


def reload_until(page: Any, check: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout_s:.0f} s: {what}"
        time.sleep(0.5)
        page.reload()


def test_the_demo_banner_names_the_console_and_its_administrator(
        console_demo: ConsoleDemo) -> None:
    banner = console_demo.demo.output()
    line = next(x for x in banner.splitlines() if x.strip().startswith("web console"))
    assert console_demo.url in line
    assert f"user admin, password {console_demo.password('admin')}" in line
    credentials = console_demo.data_dir / "console" / "demo-credentials.json"
    assert credentials.stat().st_mode & 0o077 == 0  # the owner's only
    assert {"admin", "officer", "auditor", "operator", "citizen"} <= set(
        console_demo.credentials)
    assert console_demo.credentials["citizen"]["register_number"] == "УБ99112233"


def test_sign_in_refuses_a_wrong_password_then_admits_the_administrator(
        page: Any, console_demo: ConsoleDemo, screenshot: Shoot) -> None:
    page.goto("/members")
    assert "/sign-in?next=/members" in page.url  # no session: sent to sign in, then back
    screenshot(page, "sign-in")
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password").fill("not-the-password")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 401
    assert page.get_by_role("alert").inner_text() == "Wrong user name or password."
    page.get_by_label("Password").fill(console_demo.password("admin"))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/members$"))
    assert page.get_by_role("heading", name="Members").is_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "console_session")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    page.goto("/")
    assert "Signed in as admin (administrator)" in page.inner_text("main")
    screenshot(page, "home")


def test_a_member_registered_in_the_ui_is_approved_and_appears_in_global_configuration(
        page: Any, console_demo: ConsoleDemo, screenshot: Shoot) -> None:
    sign_in(page, "admin", console_demo.password("admin"))
    page.goto("/globalconf")
    version_before = int(page.locator("dl.facts dd").nth(1).inner_text())

    page.goto("/members")
    form = page.locator("form[method='post'][action='/members']")
    form.get_by_label("Member class").select_option("COM")
    form.get_by_label("Member code").fill("bad code")
    form.get_by_label("Organization name").fill("New Co LLC")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        form.get_by_role("button", name="Register member").click()
    assert answer.value.status == 400  # a form error, not an exception page
    assert "Use letters, digits" in page.inner_text("form[method='post'][action='/members']")
    screenshot(page, "members-form-error")
    form.get_by_label("Member code").fill("NEWCO")
    form.get_by_role("button", name="Register member").click()
    page.wait_for_url(re.compile(r".*/members/COM/NEWCO\?notice=.*"))
    assert page.get_by_role("status").first.inner_text() == "The member is registered."
    page.get_by_label("Subsystem code").fill("reports")
    page.get_by_role("button", name="Register subsystem").click()
    page.wait_for_url(re.compile(r".*/members/COM/NEWCO\?notice=.*"))
    assert f"{REPORTS}" in page.inner_text("main")
    screenshot(page, "member-detail")
    page.goto("/members")
    page.get_by_label("Search members, subsystems and security servers").fill("newco")
    # console.js refreshes the results as one types (no click), and keeps the URL in step.
    expect(page.locator("#members tbody tr")).to_have_count(1)  # (CSP: no eval to poll)
    assert NEWCO in page.inner_text("#members")
    page.wait_for_url(re.compile(r".*/members\?q=newco$"))
    screenshot(page, "members-search")

    # The consumer security server's operator asks, signed, to host the new subsystem.
    sent = console_demo.xroad("server", "register", "--server", CONSUMER, "--client", REPORTS)
    assert sent.returncode == 0, sent.stderr
    request_id = re.search(r"request (\d+)", sent.stdout).group(1)  # type: ignore[union-attr]
    sign_out(page)

    sign_in(page, "officer", console_demo.password("officer"))
    page.goto("/registrations")
    pending = page.locator("#pending")
    assert REPORTS in pending.inner_text()
    screenshot(page, "registrations")
    pending.get_by_role("link", name=request_id, exact=True).click()
    assert '"kind": "client-registration"' in page.inner_text("#signed-content")
    assert REPORTS in page.inner_text("#signed-content")
    assert "Signed by MN/GOV/EMONGOLIA" in page.inner_text("#signature")
    assert "security-server" in page.inner_text("main")  # who submitted it
    screenshot(page, "registration-pending")
    page.get_by_label("Comment").fill("contract signed")
    page.once("dialog", lambda dialog: dialog.accept())  # console.js asks to confirm
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(re.compile(rf".*/registrations/{request_id}\?notice=.*"))
    assert page.inner_text("#status") == "approved"
    assert "contract signed [console: officer]" in page.inner_text("#events")
    screenshot(page, "registration-approved")

    page.goto("/globalconf")
    reload_until(page, lambda: REPORTS in page.inner_text("#conf-servers"),
                 "the new client in global configuration")
    assert NEWCO in page.inner_text("#conf-members")
    assert int(page.locator("dl.facts dd").nth(1).inner_text()) > version_before
    screenshot(page, "globalconf")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the signed configuration").click()
    assert download.value.suggested_filename == "globalconf.json"


def test_the_interface_switches_to_mongolian(page: Any, console_demo: ConsoleDemo,
                                             screenshot: Shoot) -> None:
    sign_in(page, "auditor", console_demo.password("auditor"))
    page.goto("/members")
    page.get_by_role("link", name="Монгол").click()
    page.wait_for_url(re.compile(r".*/members$"))
    assert page.locator("html").get_attribute("lang") == "mn"
    assert page.get_by_role("heading", name="Гишүүд").is_visible()
    nav = page.get_by_role("navigation", name="Үндсэн цэс").inner_text()
    assert "Бүртгэлийн хүсэлтүүд" in nav
    assert re.search(r"[А-Яа-яӨөҮү]{4,}", page.inner_text("main"))
    screenshot(page, "members-mn")
    page.get_by_role("link", name="English").click()
    assert page.get_by_role("heading", name="Members").is_visible()


def test_each_role_sees_only_its_pages(page: Any, console_demo: ConsoleDemo) -> None:
    sign_in(page, "operator", console_demo.password("operator"))
    nav = page.get_by_role("navigation", name="Main").inner_text()
    assert "Members" not in nav
    assert "Global configuration" in nav
    answer = page.goto("/registrations")
    assert answer.status == 403
    assert "Your role may not use this page." in page.inner_text("main")


def test_a_form_posted_without_its_csrf_token_is_refused(page: Any,
                                                         console_demo: ConsoleDemo) -> None:
    sign_in(page, "admin", console_demo.password("admin"))
    fields = {"member_class": "COM", "member_code": "FORGED", "name": "Forged LLC"}
    refused = page.request.post("/members", form=fields)
    assert refused.status == 403
    assert "Form refused" in refused.text()
    wrong = page.request.post("/members", form={**fields, "csrf_token": "guessed"})
    assert wrong.status == 403
    page.goto("/members?q=forged")
    assert "FORGED" not in page.inner_text("#members")


def test_repeated_failed_sign_ins_are_rate_limited(page: Any, console_demo: ConsoleDemo,
                                                   screenshot: Shoot) -> None:
    """Five failures per user name or address in the window (shortened for the tests), then
    429 whatever the password, until the window has passed."""
    statuses = []
    for _ in range(6):
        page.goto("/sign-in")
        page.get_by_label("User name").fill("officer")
        page.get_by_label("Password").fill("guess-guess-guess")
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.get_by_role("button", name="Sign in").click()
        statuses.append(answer.value.status)
        if answer.value.status == 429:
            break
    assert statuses[-1] == 429, statuses
    assert len(statuses) <= 6
    assert int(answer.value.headers["retry-after"]) > 0
    assert "Too many failed sign-ins" in page.inner_text("main")
    screenshot(page, "rate-limited")
    # Even the right password waits: a guesser learns nothing from the answer.
    page.goto("/sign-in")
    page.get_by_label("User name").fill("officer")
    page.get_by_label("Password").fill(console_demo.password("officer"))
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 429
    time.sleep(int(answer.value.headers["retry-after"]))
    sign_in(page, "officer", console_demo.password("officer"))
    assert "Signed in as officer" in page.inner_text("main")
