"""A TSA outage: exchanges go on within the tolerance, stop after it, resume when it returns."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.demo import start_demo
from tests.e2e.test_exchange import PERSON_PATH, PORTAL

pytestmark = pytest.mark.e2e

PIN = "demo-token-pin"


def test_exchanges_stop_past_the_tolerance_and_resume(tmp_path: Path) -> None:
    demo = start_demo(tmp_path / "var", env={"XROAD_SS_TIMESTAMP_TOLERANCE_S": "2",
                                             "XROAD_SS_AUDIT_CHECKPOINT_S": "0.5"})
    tsa: subprocess.Popen[bytes] | None = None
    try:
        url = demo.server("MN/GOV/EMONGOLIA/ss1")["client_url"]

        def ask() -> httpx.Response:
            return httpx.get(url + PERSON_PATH, headers={"X-Road-Client": PORTAL}, timeout=30)

        assert ask().status_code == 200
        tsa_url = demo.instance["trust_services"]["tsa_url"]
        os.kill(demo.pid("pki-tsa"), signal.SIGTERM)

        deadline = time.monotonic() + 20
        reply = ask()
        while reply.status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.5)
            reply = ask()
        assert reply.status_code == 500
        assert reply.headers["X-Road-Error"] == "Server.ClientProxy.TimestampingFailed"
        health = httpx.get(url + "/health", timeout=10).json()
        assert health["status"] == "error"
        assert "time-stamped" in health["reason"]

        port = tsa_url.rsplit(":", 1)[1]
        tsa = subprocess.Popen(  # the TSA returns on the same address
            [sys.executable, "-m", "xroad.cli.main", "serve", "tsa", "--port", port],
            env={**os.environ, "XROAD_PKI_DIR": str(demo.data_dir / "pki"),
                 "XROAD_PKI_TOKEN_PIN": PIN},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while ask().status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert ask().status_code == 200
    finally:
        if tsa is not None:
            tsa.terminate()
            tsa.wait(10)
        demo.stop()
