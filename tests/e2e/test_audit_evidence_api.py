"""`GET /api/v1/audit/evidence` over the real processes: the bundle `xroad audit export` would
write, as a .tar.gz, that verifies offline and holds the exchange made here; auditors only."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import httpx
import pytest

from audit.evidence import RECORDS, decode_leaf, iter_lines, parse_record_line
from audit.verifier import verify_bundle
from tests.e2e.demo import RunningDemo
from tests.e2e.test_audit_api import AUDIT, AUDITOR, api, api_key, ask, seal, unique
from tests.e2e.test_exchange import CONSUMER, PORTAL

pytestmark = pytest.mark.e2e


def unpack(body: bytes, into: Path) -> Path:
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        tar.extractall(into, filter="data")
    (bundle,) = into.iterdir()
    return bundle


def test_an_auditor_downloads_a_bundle_that_verifies(demo: RunningDemo, tmp_path: Path) -> None:
    issue = unique("evidence via the API")
    reply = ask(demo, issue, unique("officer"))
    assert reply.status_code == 200, reply.text
    message_id = reply.headers["X-Road-Id"]
    size = seal(demo, CONSUMER).size

    got = api(demo, CONSUMER, AUDIT + "/evidence", {"client": PORTAL})
    assert got.status_code == 200, got.text
    assert got.headers["Content-Type"] == "application/gzip"
    assert "attachment" in got.headers["Content-Disposition"]
    bundle = unpack(got.content, tmp_path)

    report = verify_bundle(bundle)
    assert report.ok, report.problems
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["filters"] == {"client": PORTAL}
    assert manifest["checkpoint_size"] >= size
    assert not manifest["complete"]
    records = [decode_leaf(parse_record_line(line).leaf)
               for _, line in iter_lines(bundle / RECORDS) if line is not None]
    assert {r["client"] for r in records} == {PORTAL}
    mine = [r for r in records if r["message_id"] == message_id]
    assert {r["kind"] for r in mine} == {"request", "response"}
    assert {r["issue"] for r in mine} == {issue}


def test_only_auditors_get_evidence_and_bad_filters_are_refused(demo: RunningDemo) -> None:
    url = demo.server(CONSUMER)["admin_url"] + AUDIT + "/evidence"
    assert httpx.get(url, timeout=30).status_code == 401
    observer = httpx.get(url, timeout=30, headers=api_key(demo, CONSUMER, "observer-api-key"))
    assert observer.status_code == 403
    bad = api(demo, CONSUMER, AUDIT + "/evidence", {"since": "yesterday"}, key=AUDITOR)
    assert bad.status_code == 400
    assert bad.json()["type"] == "BadRequest"
