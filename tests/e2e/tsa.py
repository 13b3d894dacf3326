"""Taking the demo's dev PKI time-stamping authority down and bringing it back (outage tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx

from tests.e2e.demo import RunningDemo

PIN = "demo-token-pin"  # TEST ONLY: the demo's tokens (xroad.cli.demo.DemoSettings)


def tsa_url(demo: RunningDemo) -> str:
    url: str = demo.instance["trust_services"]["tsa_url"]
    return url


def _answers(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def stop_tsa(demo: RunningDemo, timeout_s: float = 15.0) -> None:
    """Stop the demo's TSA and return once its address no longer answers."""
    os.kill(demo.pid("pki-tsa"), signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while _answers(tsa_url(demo)):
        assert time.monotonic() < deadline, "the TSA still answers after SIGTERM"
        time.sleep(0.1)


def start_tsa(demo: RunningDemo, timeout_s: float = 30.0) -> subprocess.Popen[bytes]:
    """Start a TSA on the address global configuration names and return once it answers.

    The caller stops it (`stop_process`), also when the test fails.
    """
    port = tsa_url(demo).rsplit(":", 1)[1]
    tsa = subprocess.Popen(
        [sys.executable, "-m", "xroad.cli.main", "serve", "tsa", "--port", port],
        env={**os.environ, "XROAD_PKI_DIR": str(demo.data_dir / "pki"),
             "XROAD_PKI_TOKEN_PIN": PIN},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout_s
    try:
        while not _answers(tsa_url(demo)):
            assert tsa.poll() is None, f"the TSA exited with code {tsa.returncode}"
            assert time.monotonic() < deadline, "the restarted TSA does not answer"
            time.sleep(0.1)
    except BaseException:
        stop_process(tsa)
        raise
    return tsa


def stop_process(process: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
