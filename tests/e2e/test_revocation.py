"""Certificate status through the running bus: revocation enforced, OCSP outage survived."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from tests.e2e.demo import RunningDemo, audit_records, start_demo
from tests.e2e.test_exchange import PERSON_PATH, PORTAL, client_url

pytestmark = pytest.mark.e2e

PIN = "demo-token-pin"


def pki(demo: RunningDemo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xroad.cli.main", "pki", *args, "--data-dir",
                           str(demo.data_dir)], capture_output=True, text=True, check=False,
                          timeout=60, env={**os.environ, "XROAD_PKI_TOKEN_PIN": PIN})


@pytest.mark.parametrize(("args", "message"), [
    (["revoke", "abc123"], "error:"), (["revoke", "xyz"], "not a hex serial"),
    (["revoke", "1", "--reason", "boredom"], "unknown reason")],
    ids=["never-issued", "not-hex", "unknown-reason"])
def test_pki_cli_refuses_mistakes(demo: RunningDemo, args: list[str], message: str) -> None:
    result = pki(demo, *args)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def ask(demo: RunningDemo) -> httpx.Response:
    return httpx.get(client_url(demo) + PERSON_PATH, timeout=30,
                     headers={"X-Road-Client": PORTAL, "X-Road-Id": str(uuid.uuid4())})


def test_a_revoked_provider_signing_certificate_stops_the_exchange(tmp_path: Path) -> None:
    demo = start_demo(tmp_path / "var")
    try:
        token = demo.server_dir("MN/GOV/GASR/ss1") / "token"
        cert = x509.load_pem_x509_certificates(
            (token / "sign-MN_GOV_GASR.cert.pem").read_bytes())[0]
        serial = f"{cert.serial_number:x}"
        revoked = pki(demo, "revoke", serial, "--reason", "key_compromise")
        assert revoked.returncode == 0, revoked.stderr
        listed = pki(demo, "list")
        assert f"{serial}  revoked" in listed.stdout
        assert "(key_compromise)" in listed.stdout

        reply = ask(demo)
        assert reply.status_code == 500
        assert reply.headers["X-Road-Error"] == "Server.ServerProxy.CertValidation"
        assert "revoked" in reply.json()["message"]
        assert reply.json()["detail"] in demo.log("ss-MN_GOV_GASR_ss1")
        # The registry was never asked, and the provider recorded the refusal.
        outcomes = [r["outcome"] for r in audit_records(demo, "MN/GOV/GASR/ss1")]
        assert outcomes == ["ok", "Server.ServerProxy.CertValidation"]
    finally:
        demo.stop()


def test_cached_fresh_evidence_carries_the_bus_through_an_ocsp_outage(tmp_path: Path) -> None:
    demo = start_demo(tmp_path / "var")
    try:
        assert ask(demo).status_code == 200
        os.kill(demo.pid("pki-ocsp"), signal.SIGTERM)
        time.sleep(1)
        with pytest.raises(httpx.HTTPError):
            httpx.get(demo.instance["trust_services"]["ocsp_url"] + "/health", timeout=2)
        reply = ask(demo)
        assert reply.status_code == 200, reply.text
        assert reply.json()["register_number"] == "УБ99112233"
    finally:
        demo.stop()
