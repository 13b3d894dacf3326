"""A central server outage: routing goes on while global configuration is valid, then stops."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.demo import start_demo
from tests.e2e.test_exchange import PERSON_PATH, PORTAL

pytestmark = pytest.mark.e2e

VALIDITY_S = 8  # X-Road's default is 600 s; shortened so the test can outwait it


def test_expired_global_configuration_stops_routing(tmp_path: Path) -> None:
    demo = start_demo(tmp_path / "var", env={
        "XROAD_CS_CONF_VALIDITY_S": str(VALIDITY_S), "XROAD_CS_CONF_GENERATION_S": "2",
        "XROAD_DEMO_GLOBALCONF_REFRESH_S": "1"})
    try:
        url = demo.server("MN/GOV/EMONGOLIA/ss1")["client_url"]

        def ask() -> httpx.Response:
            return httpx.get(url + PERSON_PATH, headers={"X-Road-Client": PORTAL}, timeout=30)

        assert ask().status_code == 200
        os.kill(demo.pid("central-server"), signal.SIGTERM)
        time.sleep(1)
        assert ask().status_code == 200  # the last good copy is still valid

        deadline = time.monotonic() + VALIDITY_S + 10
        reply = ask()
        while reply.status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.5)
            reply = ask()
        assert reply.status_code == 500
        # Both servers hold copies of the same configurations; whichever copy expires first
        # (they were fetched a moment apart) refuses: either is the right answer.
        assert reply.headers["X-Road-Error"] in {"Server.ClientProxy.OutdatedGlobalConf",
                                                 "Server.ServerProxy.OutdatedGlobalConf"}
        assert "expired" in reply.json()["message"]
        deadline = time.monotonic() + 10
        health = httpx.get(url + "/health", timeout=10).json()
        while health["status"] != "error" and time.monotonic() < deadline:
            time.sleep(0.5)
            health = httpx.get(url + "/health", timeout=10).json()
        assert health["status"] == "error"
        assert "expired" in health["reason"]
        refused = ask()
        assert refused.headers["X-Road-Error"] == "Server.ClientProxy.OutdatedGlobalConf"
    finally:
        demo.stop()
