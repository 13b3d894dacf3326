"""An operator renews a member's signing key on a running security server, as in X-Road:
generate, CSR, certificate from the CA, import. The server signs with the new key within
seconds, without a restart, and the other side verifies it."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.e2e.demo import RunningDemo, start_demo
from tests.e2e.test_exchange import PERSON_PATH, PORTAL, PROVIDER, client_url, records_for

pytestmark = pytest.mark.e2e

PIN = "demo-token-pin"  # the demo's (TEST ONLY) token and dev CA PIN


def _xroad(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "xroad.cli.main", *args], capture_output=True, text=True,
        timeout=60, check=False,
        env={**os.environ, "XROAD_TOKEN_PIN": PIN, "XROAD_PKI_TOKEN_PIN": PIN})
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def _sha256(pem_file: Path) -> str:
    cert = x509.load_pem_x509_certificates(pem_file.read_bytes())[0]
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _provider_signature(demo: RunningDemo) -> str:
    """Whose key signed the provider's answer to a fresh exchange (its audit record)."""
    reply = httpx.get(client_url(demo) + PERSON_PATH, timeout=30,
                      headers={"X-Road-Client": PORTAL, "X-Road-Id": str(uuid.uuid4())})
    assert reply.status_code == 200, reply.text
    response = records_for(demo, PROVIDER, reply.headers["X-Road-Request-Id"])["response"]
    return str(response["signer_cert_sha256"])


def test_a_renewed_signing_key_is_used_without_a_restart(fresh_demo_dir: Path,
                                                         tmp_path: Path) -> None:
    demo = start_demo(fresh_demo_dir, env={"XROAD_SS_SIGNING_KEYS_RELOAD_S": "1"})
    try:
        token = demo.server_dir(PROVIDER) / "token"
        old = _sha256(token / "sign-MN_GOV_GASR.cert.pem")
        assert _provider_signature(demo) == old

        _xroad("keys", "generate", "--kind", "sign", "--member", "MN/GOV/GASR",
               "--label", "sign-MN_GOV_GASR-renewed", "--token-dir", str(token))
        csr = tmp_path / "renewed.csr.pem"
        _xroad("keys", "csr", "--label", "sign-MN_GOV_GASR-renewed", "--out", str(csr),
               "--token-dir", str(token))
        time.sleep(1.1)  # the new certificate's notBefore after the old one's (same second)
        _xroad("pki", "issue", str(csr), "--data-dir", str(demo.data_dir))
        _xroad("keys", "import-cert", "--label", "sign-MN_GOV_GASR-renewed",
               str(csr.with_suffix(".pem")), "--token-dir", str(token))
        new = _sha256(token / "sign-MN_GOV_GASR-renewed.cert.pem")
        assert new != old

        deadline = time.monotonic() + 20
        seen = _provider_signature(demo)
        while seen != new and time.monotonic() < deadline:
            time.sleep(0.5)
            seen = _provider_signature(demo)
        assert seen == new, "the provider still signs with its old key"
        assert "signing_keys.active" in demo.log("ss-MN_GOV_GASR_ss1")
    finally:
        demo.stop()
