"""The security-server pages in a real browser over a real demo: an exchange made here is
found in the audit log by its message id, its inclusion proof verified by the browser
(proof.js with WebCrypto) and by the console; its evidence bundle downloads and verifies; the
citizen sees the portal's query with its purpose; an operator grants and revokes an access
right; the traffic page draws its charts.
"""

from __future__ import annotations

import base64
import html
import io
import re
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from audit.evidence import RECORDS, decode_leaf, iter_lines, parse_record_line
from audit.merkle import inclusion_proof, leaf_hash, root
from audit.verifier import verify_bundle
from tests.console.conftest import ConsoleDemo, sign_in, sign_out
from tests.e2e.test_audit_api import ask, unique
from tests.e2e.test_exchange import CONSUMER, PORTAL, PROVIDER
from xroad.cli.demo import DEMO_PERSON

pytestmark = pytest.mark.e2e

Shoot = Callable[[Any, str], Path]
PROOF_TIMEOUT_MS = 20_000


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def exchange(console_demo: ConsoleDemo, issue: str) -> str:
    """The portal asks about the demo person through the bus; the exchange's message id."""
    reply = ask(console_demo.demo, issue, unique("officer"))
    assert reply.status_code == 200, reply.text
    return reply.headers["X-Road-Id"]


def test_an_auditor_finds_an_exchange_and_the_browser_verifies_its_proof(
        console_demo: ConsoleDemo, page: Any, screenshot: Shoot, tmp_path: Path) -> None:
    issue = unique("audit in the console")
    message_id = exchange(console_demo, issue)
    sign_in(page, "auditor", console_demo.password("auditor"))

    page.goto("/audit")
    page.get_by_label("Security server").select_option(CONSUMER)
    page.get_by_label("Message id").fill(message_id)
    page.get_by_role("button", name="Search").click()
    rows = page.locator("#audit-results tbody tr", has_text=message_id)
    rows.first.wait_for()
    assert rows.count() == 2  # its request and its response
    assert issue in page.locator("#audit-results").inner_text()
    screenshot(page, "audit-search")

    rows.filter(has_text="request").get_by_role("link").click()
    status = page.locator("[data-proof-status]")
    status.and_(page.locator("[data-proof-state=verified]")).wait_for(timeout=PROOF_TIMEOUT_MS)
    assert status.inner_text() == "verified"
    assert page.locator("#server-check").get_attribute("data-verified") == "true"
    assert "checked with the log key" in page.locator("[data-proof]").inner_text()
    assert message_id in page.locator("main").inner_text()
    screenshot(page, "audit-record")

    page.get_by_role("link", name="Back").click()
    page.get_by_role("link", name="Checkpoints").click()
    page.locator("table.grid tbody tr").first.wait_for()
    body = page.locator("table.grid").inner_text()
    assert "consistent" in body
    assert "NOT consistent" not in body
    screenshot(page, "audit-checkpoints")

    page.goto(f"/audit?server={CONSUMER}&client={PORTAL}")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download evidence bundle").click()
    archive = Path(download.value.path())
    with tarfile.open(fileobj=io.BytesIO(archive.read_bytes()), mode="r:gz") as tar:
        tar.extractall(tmp_path, filter="data")
    (bundle,) = tmp_path.iterdir()
    report = verify_bundle(bundle)
    assert report.ok, report.problems
    records = [decode_leaf(parse_record_line(line).leaf)
               for _, line in iter_lines(bundle / RECORDS) if line is not None]
    assert {r["kind"] for r in records if r["message_id"] == message_id} == {"request",
                                                                             "response"}
    assert {r["client"] for r in records} == {PORTAL}  # the page's client filter


def test_a_citizen_sees_the_portals_query_with_its_purpose(
        console_demo: ConsoleDemo, page: Any, screenshot: Shoot) -> None:
    issue = unique("social benefit application")
    exchange(console_demo, issue)
    sign_in(page, "citizen", console_demo.password("citizen"))
    page.goto("/citizen")
    table = page.locator("#accesses")
    row = table.locator("tbody tr", has_text=issue)
    row.wait_for()
    assert row.count() == 1  # recorded by both servers, listed once
    text = row.inner_text()
    assert PORTAL in text
    assert "persons" in text
    assert CONSUMER in text
    assert PROVIDER in text
    assert DEMO_PERSON in page.locator("main").inner_text()
    screenshot(page, "citizen")
    # The citizen cannot look up someone else: the number in the address is ignored.
    page.goto("/citizen?register_number=%D0%AE%D0%AF12345678")
    assert "ЮЯ12345678" not in page.locator("main").inner_text()
    assert page.goto("/audit").status == 403


def test_an_operator_grants_and_revokes_an_access_right(
        console_demo: ConsoleDemo, page: Any, screenshot: Shoot) -> None:
    subject, service = "MN/GOV/MTA/tax-registry", "MN/GOV/GASR/civil-registry/persons"
    sign_in(page, "operator", console_demo.password("operator"))
    page.goto(f"/access-rights?server={PROVIDER}")
    rights = page.locator("#rights tbody tr")
    mine = rights.filter(has_text=subject).filter(has_text="/{registerNumber}")
    assert mine.count() == 0

    page.get_by_label("Client").fill(subject)
    page.get_by_label("Service", exact=True).fill(service)
    page.get_by_label("REST method").select_option("GET")
    page.get_by_label("REST path").fill("/{registerNumber}")
    page.get_by_role("button", name="Grant").click()
    page.get_by_text("The access right is granted").wait_for()
    assert mine.count() == 1
    screenshot(page, "access-granted")

    page.get_by_label("Client").fill("not an identifier")
    page.get_by_label("Service", exact=True).fill(service)
    page.get_by_role("button", name="Grant").click()
    alert = page.locator(".alert.error")
    alert.wait_for()
    assert "The security server refused" in alert.inner_text()
    screenshot(page, "access-refused")

    page.goto(f"/access-rights?server={PROVIDER}")
    page.once("dialog", lambda dialog: dialog.accept())
    mine.get_by_role("button", name=re.compile("Revoke")).click()
    page.get_by_text("The access right is revoked").wait_for()
    assert mine.count() == 0


def test_the_traffic_page_draws_its_charts(console_demo: ConsoleDemo, page: Any,
                                           screenshot: Shoot) -> None:
    exchange(console_demo, unique("traffic"))
    sign_in(page, "auditor", console_demo.password("auditor"))
    page.goto("/traffic")
    charts = page.locator("svg.chart")
    assert charts.count() == 3 * 2  # per minute, latency, faults; for both servers
    first = charts.first
    assert first.get_attribute("role") == "img"
    assert (first.locator("title").first.text_content() or "").startswith("Exchanges per minute")
    assert first.locator("circle").count() >= 1
    screenshot(page, "traffic-auditor")

    sign_out(page)
    sign_in(page, "operator", console_demo.password("operator"))
    page.goto("/traffic")
    assert page.locator("svg.chart").count() == 3 * 2  # the same charts, from the observer key
    assert "getPerson" in page.content() or "persons" in page.content()
    screenshot(page, "traffic-operator")


def test_proof_js_fails_a_tampered_proof(console_demo: ConsoleDemo, page: Any) -> None:
    """proof.js on its own, against proofs made here with audit.merkle: a sound one, one with
    a changed audit path, one with a changed leaf, one against another checkpoint's root."""
    leaves = [f'{{"n": {i}}}'.encode() for i in range(6)]
    hashes = [leaf_hash(leaf) for leaf in leaves]
    note = f"test log\n{len(leaves)}\n{b64(root(hashes))}\n\n— test sig\n"
    other = f"test log\n{len(leaves)}\n{b64(root(hashes[::-1]))}\n\n— test sig\n"
    path = [b64(h) for h in inclusion_proof(hashes, 4)]
    cases = {"sound": (leaves[4], path, note), "path": (leaves[4], [path[0], b64(bytes(32))],
                                                         note),
             "leaf": (b'{"n": 5}', path, note), "root": (leaves[4], path, other)}
    body = "".join(
        f'<div data-proof id="{name}" data-leaf="{b64(leaf)}" data-index="4" '
        f'data-audit-path="{" ".join(p)}" data-checkpoint="{html.escape(n)}">'
        f"<span data-proof-status></span></div>" for name, (leaf, p, n) in cases.items())
    page.route("**/proof-test", lambda route: route.fulfill(
        content_type="text/html", body=f'<!doctype html><html><body>{body}'
                                       '<script src="/static/proof.js"></script></body></html>'))
    page.goto("/proof-test")
    states = page.locator("[data-proof-status]:not([data-proof-state])")
    page.wait_for_function("document.querySelectorAll('[data-proof-state]').length === 4")
    assert states.count() == 0
    found = {name: page.locator(f"#{name} [data-proof-status]").get_attribute("data-proof-state")
             for name in cases}
    assert found == {"sound": "verified", "path": "failed", "leaf": "failed", "root": "failed"}
    assert page.locator("#path [data-proof-status]").inner_text() == "failed"
