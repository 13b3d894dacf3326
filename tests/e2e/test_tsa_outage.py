"""A TSA outage: exchanges go on within the tolerance, stop after it, resume when it returns."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.demo import start_demo
from tests.e2e.test_exchange import PERSON_PATH, PORTAL
from tests.e2e.tsa import start_tsa, stop_process, stop_tsa

pytestmark = pytest.mark.e2e


def test_exchanges_stop_past_the_tolerance_and_resume(tmp_path: Path) -> None:
    demo = start_demo(tmp_path / "var", env={"XROAD_SS_TIMESTAMP_TOLERANCE_S": "2",
                                             "XROAD_SS_AUDIT_CHECKPOINT_S": "0.5"})
    tsa: subprocess.Popen[bytes] | None = None
    try:
        url = demo.server("MN/GOV/EMONGOLIA/ss1")["client_url"]

        def ask() -> httpx.Response:
            return httpx.get(url + PERSON_PATH, headers={"X-Road-Client": PORTAL}, timeout=30)

        assert ask().status_code == 200
        stop_tsa(demo)

        deadline = time.monotonic() + 20
        reply = ask()
        while reply.status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.5)
            reply = ask()
        # Both servers lost the TSA at once: whichever passes its tolerance first refuses.
        assert reply.status_code == 500
        assert reply.headers["X-Road-Error"] in ("Server.ClientProxy.TimestampingFailed",
                                                 "Server.ServerProxy.TimestampingFailed")
        deadline = time.monotonic() + 20
        health = httpx.get(url + "/health", timeout=10).json()
        while health["status"] != "error" and time.monotonic() < deadline:
            time.sleep(0.5)
            health = httpx.get(url + "/health", timeout=10).json()
        assert health["status"] == "error"
        assert "time-stamped" in health["reason"]
        reply = ask()  # the consumer, past its own tolerance, refuses before forwarding
        assert reply.status_code == 500
        assert reply.headers["X-Road-Error"] == "Server.ClientProxy.TimestampingFailed"

        tsa = start_tsa(demo)  # the TSA returns on the same address
        deadline = time.monotonic() + 30
        while ask().status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert ask().status_code == 200
    finally:
        if tsa is not None:
            stop_process(tsa)
        demo.stop()
