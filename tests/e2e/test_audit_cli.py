"""`xroad audit export | verify | reconcile | archive | verify-archives` on the running demo.

Tampering and archiving run on copies of a server's data directory, so the shared demo's logs
stay as other tests expect them.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e.demo import RunningDemo
from tests.e2e.test_exchange import PERSON_PATH, PORTAL, client_url

pytestmark = pytest.mark.e2e

CONSUMER, PROVIDER = "MN/GOV/EMONGOLIA/ss1", "MN/GOV/GASR/ss1"
XROAD = [sys.executable, "-m", "xroad.cli.main"]


def xroad(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*XROAD, *map(str, args)], capture_output=True, text=True,
                          timeout=120, check=False)


def _exchange(demo: RunningDemo, purpose: str) -> None:
    reply = httpx.get(client_url(demo) + PERSON_PATH, timeout=30,
                      headers={"X-Road-Client": PORTAL, "X-Road-Issue": purpose})
    assert reply.status_code == 200, reply.text


def _export(demo: RunningDemo, server: str, out: Path, *extra: str) -> Path:
    done = xroad("audit", "export", "--data-dir", demo.data_dir, "--server", server,
                 "--out", out, *extra)
    assert done.returncode == 0, done.stderr
    return out


def _records(bundle: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (bundle / "records.jsonl").read_text().splitlines()]


def test_an_auditor_exports_verifies_and_reconciles_both_sides(demo: RunningDemo,
                                                               tmp_path: Path) -> None:
    purpose = f"cli-{uuid.uuid4()}"
    _exchange(demo, purpose)
    consumer = _export(demo, CONSUMER, tmp_path / "consumer")
    provider = _export(demo, PROVIDER, tmp_path / "provider")

    for bundle in (consumer, provider):
        done = xroad("audit", "verify", bundle)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "intact" in done.stdout
        manifest = json.loads((bundle / "manifest.json").read_text())
        assert manifest["complete"] is True
        records = _records(bundle)
        assert [r["index"] for r in records] == list(range(manifest["checkpoint_size"]))
        ours = [r for r in records if r["record"]["issue"] == purpose]  # type: ignore[index]
        assert len(ours) == 2  # the request and the response, sealed before export returned
        assert all(r["signature"] for r in ours)
        openssl = subprocess.run(
            ["openssl", "ts", "-verify", "-in", "checkpoint.tsr", "-data", "checkpoint",
             "-CAfile", "certs/tsa-chain.pem"], cwd=bundle, capture_output=True, text=True,
            check=False)
        assert "Verification: OK" in openssl.stdout, openssl.stderr

    pinned = xroad("audit", "verify", provider, "--log-key",
                   demo.server_dir(PROVIDER) / "audit-log.pub")
    assert pinned.returncode == 0, pinned.stdout
    foreign = xroad("audit", "verify", consumer, "--log-key",
                    demo.server_dir(PROVIDER) / "audit-log.pub")
    assert foreign.returncode == 1
    assert "is not the trusted one" in foreign.stdout

    done = xroad("audit", "reconcile", consumer, provider)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the logs agree" in done.stdout


def test_a_filtered_export_holds_only_matching_records(demo: RunningDemo,
                                                       tmp_path: Path) -> None:
    _exchange(demo, "filtered export")
    bundle = _export(demo, CONSUMER, tmp_path / "b", "--client", "MN/GOV/EMONGOLIA",
                     "--service", "MN/GOV/GASR/civil-registry/persons", "--from", "2020-01-01")
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["complete"] is False
    assert manifest["filters"]["client"] == "MN/GOV/EMONGOLIA"
    records = _records(bundle)
    assert records
    assert all(r["record"]["service"] == "MN/GOV/GASR/civil-registry/persons"  # type: ignore[index]
               for r in records)
    assert xroad("audit", "verify", bundle).returncode == 0


def _copy_server(demo: RunningDemo, server: str, into: Path) -> Path:
    """A stopped copy of one server's data directory (the database copied consistently)."""
    source, target = demo.server_dir(server), into / "ss" / server.replace("/", "_")
    target.mkdir(parents=True)
    for name in ("serverconf.toml", "audit-log.pub", "ca-chain.pem"):
        shutil.copy(source / name, target / name)
    with sqlite3.connect(source / "audit.db") as src, sqlite3.connect(target / "audit.db") as dst:
        src.backup(dst)
    return target


def _tamper(db: Path, statement: str) -> None:
    with sqlite3.connect(db) as conn:
        for table in ("audit_log", "audit_node"):
            conn.executescript(f"DROP TRIGGER {table}_no_update; DROP TRIGGER {table}_no_delete;")
        conn.execute(statement)


TAMPERING = {
    "record-rewritten": ("UPDATE audit_log SET leaf = CAST(replace(CAST(leaf AS TEXT), "
                         "'\"kind\":\"', '\"kind\":\"x') AS BLOB) WHERE idx = 1"),
    "record-deleted": ("DELETE FROM audit_log WHERE idx = 1"),
}


def _tampered_copy(demo: RunningDemo, tmp_path: Path, statement: str) -> Path:
    _exchange(demo, "before tampering")
    _export(demo, PROVIDER, tmp_path / "sealed")  # seals a checkpoint covering records 0..
    _tamper(_copy_server(demo, PROVIDER, tmp_path / "var") / "audit.db", statement)
    return tmp_path / "var"


def test_a_rewritten_record_gives_a_bundle_that_fails_naming_it(demo: RunningDemo,
                                                                tmp_path: Path) -> None:
    data_dir = _tampered_copy(demo, tmp_path, TAMPERING["record-rewritten"])
    bundle = tmp_path / "tampered"
    done = xroad("audit", "export", "--data-dir", data_dir, "--no-seal", "--out", bundle)
    assert done.returncode == 0, done.stderr
    verified = xroad("audit", "verify", bundle)
    assert verified.returncode == 1, verified.stdout
    assert re.search(r"^\s*record 1\b", verified.stdout, re.MULTILINE), verified.stdout


def test_a_deleted_record_is_named_when_exporting(demo: RunningDemo, tmp_path: Path) -> None:
    data_dir = _tampered_copy(demo, tmp_path, TAMPERING["record-deleted"])
    done = xroad("audit", "export", "--data-dir", data_dir, "--no-seal", "--out",
                 tmp_path / "b")
    assert done.returncode == 1
    assert "record 1 is missing from the log" in done.stderr
    assert not (tmp_path / "b").exists()  # nothing that looks like a bundle


def test_archives_leave_the_live_log_small_and_chain(demo: RunningDemo, tmp_path: Path) -> None:
    _exchange(demo, "before archiving")
    _export(demo, PROVIDER, tmp_path / "sealed")
    copy = _copy_server(demo, PROVIDER, tmp_path / "var")
    first = xroad("audit", "archive", "--older-than-days", "0", "--data-dir", tmp_path / "var")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Archived records 0.." in first.stdout
    with sqlite3.connect(copy / "audit.db") as conn:
        assert conn.execute("SELECT count(*) FROM audit_log").fetchone() == (0,)
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM audit_node")
    again = xroad("audit", "archive", "--older-than-days", "0", "--data-dir", tmp_path / "var")
    assert "Nothing to archive" in again.stdout

    bundles = sorted((tmp_path / "var" / "archive").iterdir())
    assert len(bundles) == 1
    done = xroad("audit", "verify-archives", *bundles)
    assert done.returncode == 0, done.stdout
    # An altered archive no longer verifies.
    records = bundles[0] / "records.jsonl"
    first_line, *rest = records.read_text().splitlines()
    doc = json.loads(first_line)
    doc["leaf"] = base64.b64encode(base64.b64decode(doc["leaf"]).replace(
        b'"kind":"', b'"kind":"x', 1)).decode()
    records.write_text("\n".join([json.dumps(doc), *rest]) + "\n")
    altered = xroad("audit", "verify-archives", *bundles)
    assert altered.returncode == 1
    assert "record 0" in altered.stdout


def test_bad_invocations_get_clear_errors(demo: RunningDemo, tmp_path: Path) -> None:
    done = xroad("audit", "export", "--data-dir", demo.data_dir, "--out", tmp_path / "b")
    assert done.returncode == 2
    assert "choose one with --server" in done.stderr
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    done = xroad("audit", "export", "--data-dir", demo.data_dir, "--server", PROVIDER,
                 "--out", tmp_path / "full")
    assert done.returncode == 1
    assert "not empty" in done.stderr
    assert "Traceback" not in done.stderr
    done = xroad("audit", "verify", tmp_path / "nothing-here")
    assert done.returncode == 2
