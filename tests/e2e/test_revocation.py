"""Certificate status through the running bus: revocation enforced, OCSP outage survived."""

from __future__ import annotations

import os
import signal
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from keys.devpki import load_dev_ca
from tests.e2e.demo import RunningDemo, audit_records, start_demo
from tests.e2e.test_exchange import PERSON_PATH, PORTAL, client_url

pytestmark = pytest.mark.e2e

PIN = "demo-token-pin"


def ask(demo: RunningDemo) -> httpx.Response:
    return httpx.get(client_url(demo) + PERSON_PATH, timeout=30,
                     headers={"X-Road-Client": PORTAL, "X-Road-Id": str(uuid.uuid4())})


def test_a_revoked_provider_signing_certificate_stops_the_exchange(tmp_path: Path) -> None:
    demo = start_demo(tmp_path / "var")
    try:
        token = demo.server_dir("MN/GOV/GASR/ss1") / "token"
        cert = x509.load_pem_x509_certificates(
            (token / "sign-MN_GOV_GASR.cert.pem").read_bytes())[0]
        ca = load_dev_ca(demo.data_dir / "pki", PIN)
        ca.revoke(cert.serial_number, x509.ReasonFlags.key_compromise, datetime.now(UTC))

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
