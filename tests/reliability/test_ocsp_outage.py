"""An OCSP responder outage past the freshness window: cached evidence carries the bus while it
is fresh, then exchanges fail closed with `CertValidation`, and they resume when the responder
returns (issue 10, "Dependencies down").

The central server publishes a 10 s freshness window (X-Road: `ocspFreshnessSeconds`, 3600 s),
so the whole cycle takes seconds. `tests/e2e/test_revocation.py` covers the first half with
the default window.
"""

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

from tests.e2e.demo import RunningDemo, audit_records, start_demo
from tests.e2e.tsa import PIN, stop_process
from tests.reliability.support import (
    CONSUMER,
    PERSON_PATH,
    PORTAL,
    PROVIDER,
    audit_store,
    check_log,
    wait_until,
)

pytestmark = pytest.mark.e2e

FRESHNESS_S = 10
CERT_FAULTS = {"Server.ClientProxy.CertValidation", "Server.ServerProxy.CertValidation"}


def ocsp_url(demo: RunningDemo) -> str:
    url: str = demo.instance["trust_services"]["ocsp_url"]
    return url


def answers(url: str) -> bool:
    try:
        httpx.get(url + "/health", timeout=2)
    except httpx.HTTPError:
        return False
    return True


def start_responder(demo: RunningDemo) -> subprocess.Popen[bytes]:
    """The dev PKI's OCSP responder again, on the address global configuration names."""
    port = ocsp_url(demo).rsplit(":", 1)[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "xroad.cli.main", "serve", "ocsp", "--port", port],
        env={**os.environ, "XROAD_PKI_DIR": str(demo.data_dir / "pki"),
             "XROAD_PKI_TOKEN_PIN": PIN},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: answers(ocsp_url(demo)), 30, "the restarted responder is silent",
                   interval_s=0.2)
    except BaseException:
        stop_process(process)
        raise
    return process


def ask(demo: RunningDemo, message_id: str | None = None) -> httpx.Response:
    return httpx.get(demo.server(CONSUMER)["client_url"] + PERSON_PATH, timeout=30,
                     headers={"X-Road-Client": PORTAL,
                              "X-Road-Id": message_id or str(uuid.uuid4())})


def test_stale_evidence_fails_closed_and_the_bus_recovers(tmp_path: Path) -> None:
    demo = start_demo(tmp_path / "var", env={"XROAD_CS_OCSP_FRESHNESS_S": str(FRESHNESS_S)})
    responder: subprocess.Popen[bytes] | None = None
    try:
        # With the responder up, exchanges go on across several freshness windows: the
        # evidence is refetched in time (before the fix it went stale after 10 s and stayed
        # refused until the 1200 s fetch interval was over).
        deadline = time.monotonic() + FRESHNESS_S + 3
        while time.monotonic() < deadline:
            reply = ask(demo)
            assert reply.status_code == 200, reply.text
            time.sleep(0.5)

        os.kill(demo.pid("pki-ocsp"), signal.SIGTERM)
        wait_until(lambda: not answers(ocsp_url(demo)), 15, "the responder outlived SIGTERM")
        reply = ask(demo)
        assert reply.status_code == 200, reply.text  # the cached response is still fresh

        refused: list[httpx.Response] = []
        wait_until(lambda: refused.append(ask(demo)) or refused[-1].status_code != 200,
                   2 * FRESHNESS_S + 10, "exchanges went on without fresh OCSP evidence",
                   interval_s=0.5)
        fault = refused[-1]
        assert fault.status_code == 500, fault.text
        assert fault.headers["X-Road-Error"] in CERT_FAULTS, fault.text
        assert "OCSP" in fault.json()["message"]
        # Fail closed means closed: every further exchange is refused while it is down.
        closed = [f"ocsp-down-{n}-{uuid.uuid4()}" for n in range(3)]
        for message_id in closed:
            assert ask(demo, message_id).headers.get("X-Road-Error") in CERT_FAULTS

        responder = start_responder(demo)
        recovered: list[httpx.Response] = []
        wait_until(lambda: recovered.append(ask(demo)) or recovered[-1].status_code == 200,
                   2 * FRESHNESS_S + 20, "no exchange succeeds after the responder returned",
                   interval_s=0.5)
        for _ in range(3):
            reply = ask(demo)
            assert reply.status_code == 200, reply.text
        # Whichever side's evidence went stale first refused (the consumer before sending,
        # or the provider on receipt): nothing of a refused exchange is recorded as delivered.
        for server_id in (CONSUMER, PROVIDER):
            outcomes = {r["outcome"] for r in audit_records(demo, server_id)
                        if r["message_id"] in closed}
            assert outcomes <= CERT_FAULTS, (server_id, outcomes)
            with audit_store(demo, server_id) as store:
                check_log(demo, server_id, store)
    finally:
        if responder is not None:
            stop_process(responder)
        demo.stop()
