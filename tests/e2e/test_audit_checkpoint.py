"""The provider's audit log signs checkpoints an auditor can check against the records."""

from __future__ import annotations

import base64
import hashlib
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519

from audit.checkpoint import verify
from audit.checkpointer import key_name
from audit.merkle import inclusion_proof, leaf_hash, root, verify_inclusion
from tests.e2e.demo import RunningDemo
from tests.e2e.test_exchange import PERSON_PATH, PORTAL, client_url
from xroad.signing.timestamp import TimestampError, verify_timestamp

pytestmark = pytest.mark.e2e

PROVIDER = "MN/GOV/GASR/ss1"


def test_checkpoint_covers_every_record_and_proves_inclusion(demo: RunningDemo) -> None:
    assert httpx.get(client_url(demo) + PERSON_PATH, headers={"X-Road-Client": PORTAL},
                     timeout=30).status_code == 200
    token = (demo.server_dir(PROVIDER) / "observer-api-key").read_text().strip()
    reply = httpx.get(demo.server(PROVIDER)["admin_url"] + "/api/v1/audit/checkpoint",
                      headers={"Authorization": f"X-Road-ApiKey token={token}"}, timeout=30)
    assert reply.status_code == 200, reply.text
    public = ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(
        (demo.server_dir(PROVIDER) / "audit-log.pub").read_text()))
    checkpoint = verify(reply.content, key_name(PROVIDER), public)
    assert checkpoint.origin == f"{PROVIDER} audit log"

    with sqlite3.connect(demo.server_dir(PROVIDER) / "audit.db") as conn:
        leaves = [leaf_hash(row[0]) for row in conn.execute(
            "SELECT leaf FROM audit_log WHERE idx < ? ORDER BY idx", (checkpoint.size,))]
    assert len(leaves) == checkpoint.size >= 2
    assert root(leaves) == checkpoint.root
    last = checkpoint.size - 1
    verify_inclusion(leaves[last], last, checkpoint.size, inclusion_proof(leaves, last),
                     checkpoint.root)


def test_seal_time_stamps_the_checkpoint_with_the_approved_tsa(demo: RunningDemo) -> None:
    token = (demo.server_dir(PROVIDER) / "observer-api-key").read_text().strip()
    reply = httpx.post(demo.server(PROVIDER)["admin_url"] + "/api/v1/audit/seal", timeout=60,
                       headers={"Authorization": f"X-Road-ApiKey token={token}"})
    assert reply.status_code == 200, reply.text
    note = reply.json()["checkpoint"].encode()
    stamp = base64.b64decode(reply.json()["timestamp"])
    trusted = x509.load_pem_x509_certificates(
        (demo.data_dir / "pki" / "ca-chain.pem").read_bytes())
    stamped_at = verify_timestamp(stamp, hashlib.sha512(note).digest(), trusted,
                                  datetime.now(UTC))
    assert abs((datetime.now(UTC) - stamped_at).total_seconds()) < 120
    with pytest.raises(TimestampError):  # a token over other data does not vouch for it
        verify_timestamp(stamp, hashlib.sha512(note + b" ").digest(), trusted,
                         datetime.now(UTC))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_openssl_accepts_the_checkpoint_time_stamp(demo: RunningDemo, tmp_path: Path) -> None:
    """The README's auditor commands, run as written."""
    token = (demo.server_dir(PROVIDER) / "observer-api-key").read_text().strip()
    sealed = httpx.post(demo.server(PROVIDER)["admin_url"] + "/api/v1/audit/seal", timeout=60,
                        headers={"Authorization": f"X-Road-ApiKey token={token}"}).json()
    (tmp_path / "checkpoint").write_text(sealed["checkpoint"])
    (tmp_path / "checkpoint.tst").write_bytes(base64.b64decode(sealed["timestamp"]))
    result = subprocess.run(
        ["openssl", "ts", "-verify", "-data", "checkpoint", "-in", "checkpoint.tst",
         "-token_in", "-CAfile", str(demo.data_dir / "pki" / "ca-chain.pem")],
        cwd=tmp_path, capture_output=True, text=True, check=False, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "Verification: OK" in result.stdout
