"""`make run` twice reuses var/; Ctrl-C stops everything; a dead provider gives a Server fault."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.demo import audit_records, start_demo

pytestmark = pytest.mark.e2e

PORTAL = "MN/GOV/EMONGOLIA/portal"
PERSON_PATH = "/r1/MN/GOV/GASR/civil-registry/persons/%D0%A3%D0%9199112233"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_restart_reuses_data_and_unreachable_provider_is_a_server_fault(
        fresh_demo_dir: Path) -> None:
    first = start_demo(fresh_demo_dir)
    try:
        assert "Creating demo data" in first.output()
        url = first.server("MN/GOV/EMONGOLIA/ss1")["client_url"]
        assert httpx.get(url + PERSON_PATH, headers={"X-Road-Client": PORTAL},
                         timeout=30).status_code == 200
        auth_cert = (first.server_dir("MN/GOV/GASR/ss1") / "token" / "auth.cert.pem").read_bytes()
        records = len(audit_records(first, "MN/GOV/GASR/ss1"))
        pids = [first.pid(p.stem) for p in (fresh_demo_dir / "logs").glob("*.pid")]
        # OCSP, TSA, central, four registries, two security servers, portal, web console
        assert len(pids) == 11
    finally:
        assert first.stop() == 0  # Ctrl-C is a clean stop
    assert "All demo processes stopped." in first.output()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids), "a demo process outlived Ctrl-C"

    second = start_demo(fresh_demo_dir)
    try:
        assert "Reusing demo data" in second.output()
        provider_dir = second.server_dir("MN/GOV/GASR/ss1")
        assert (provider_dir / "token" / "auth.cert.pem").read_bytes() == auth_cert
        assert len(audit_records(second, "MN/GOV/GASR/ss1")) == records

        os.kill(second.pid("ss-MN_GOV_GASR_ss1"), signal.SIGTERM)
        time.sleep(1)
        url = second.server("MN/GOV/EMONGOLIA/ss1")["client_url"]
        reply = httpx.get(url + PERSON_PATH, headers={"X-Road-Client": PORTAL}, timeout=30)
        assert reply.status_code == 500
        assert reply.headers["X-Road-Error"] == "Server.ClientProxy.NetworkError"
        assert reply.json()["detail"] in second.log("ss-MN_GOV_EMONGOLIA_ss1")
        # The consumer recorded the failed exchange too.
        outcomes = [r["outcome"] for r in audit_records(second, "MN/GOV/EMONGOLIA/ss1")]
        assert outcomes[-1] == "Server.ClientProxy.NetworkError"
    finally:
        second.stop()


def test_sigterm_stops_every_process(fresh_demo_dir: Path) -> None:
    demo = start_demo(fresh_demo_dir)
    pids = [demo.pid(p.stem) for p in (fresh_demo_dir / "logs").glob("*.pid")]
    demo.process.send_signal(signal.SIGTERM)
    demo.process.wait(30)
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids), "a demo process outlived SIGTERM"
