"""The central server down beyond global-configuration expiry, then back: routing stops with
`OutdatedGlobalConf` and resumes by itself once a fresh configuration is published (issue 10,
"Dependencies down"). `tests/e2e/test_central_outage.py` checks the refusal in detail; this
module adds the recovery: the same central server process restarted with its own settings.
"""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e.demo import start_demo
from tests.reliability.support import CONSUMER, PERSON_PATH, PORTAL, wait_until
from tests.reliability.test_audit_crash import command_of
from xroad.demo.supervisor import Supervisor

pytestmark = pytest.mark.e2e

VALIDITY_S = 8  # X-Road's default is 600 s
OUTDATED = {"Server.ClientProxy.OutdatedGlobalConf", "Server.ServerProxy.OutdatedGlobalConf"}


def test_routing_resumes_when_the_central_server_returns(tmp_path: Path) -> None:
    demo = start_demo(tmp_path / "var", env={
        "XROAD_CS_CONF_VALIDITY_S": str(VALIDITY_S), "XROAD_CS_CONF_GENERATION_S": "2",
        "XROAD_DEMO_GLOBALCONF_REFRESH_S": "1"})
    restarted = Supervisor(demo.data_dir / "logs")
    try:
        url = demo.server(CONSUMER)["client_url"]

        def ask() -> httpx.Response:
            return httpx.get(url + PERSON_PATH, timeout=30,
                             headers={"X-Road-Client": PORTAL, "X-Road-Id": str(uuid.uuid4())})

        def health() -> dict[str, object]:
            found: dict[str, object] = httpx.get(url + "/health", timeout=10).json()
            return found

        assert ask().status_code == 200
        pid = demo.pid("central-server")
        args, env = command_of(pid)
        os.kill(pid, signal.SIGTERM)

        refused: list[httpx.Response] = []
        wait_until(lambda: refused.append(ask()) or refused[-1].status_code != 200,
                   VALIDITY_S + 15, "routing went on past the configuration's expiry",
                   interval_s=0.5)
        assert refused[-1].status_code == 500
        assert refused[-1].headers["X-Road-Error"] in OUTDATED, refused[-1].text
        wait_until(lambda: health()["status"] == "error", 15, "health still says ok")

        central = restarted.start("central-server", args, env)
        restarted.wait_healthy(central, demo.instance["central_server"]["url"] + "/health")
        wait_until(lambda: health()["status"] == "ok", 30,
                   "the security server did not take the new configuration")
        recovered: list[httpx.Response] = []
        wait_until(lambda: recovered.append(ask()) or recovered[-1].status_code == 200, 30,
                   "routing did not resume (both servers need the new configuration)",
                   interval_s=0.5)
        for _ in range(3):
            reply = ask()
            assert reply.status_code == 200, reply.text
    finally:
        try:
            restarted.stop_all()
        finally:
            demo.stop()
