"""Configuration signing key rotation on the running demo, without a new anchor (ADR 0007).

Its own demo instance: a rotation would change the key under every other test sharing one.
The key is prepared and activated from this test process, as the CLI would do, beside the
running central server.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509

from keys.token import SoftwareToken
from tests.e2e.demo import RunningDemo, start_demo
from tests.e2e.test_exchange import PERSON_PATH, PORTAL
from xroad.central.keys import activate_next_key, prepare_next_key
from xroad.globalconf.codec import cert_sha256
from xroad.globalconf.refresh import TRUSTED_KEYS_FILE

pytestmark = pytest.mark.e2e

PIN = "demo-token-pin"
SERVERS = ("MN/GOV/EMONGOLIA/ss1", "MN/GOV/GASR/ss1")


def _wait(what: str, check: Callable[[], bool], timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _trusted(demo: RunningDemo, server: str, anchor_key: str) -> set[str]:
    """The keys a security server trusts (the anchor's until a configuration changed them)."""
    path = demo.server_dir(server) / TRUSTED_KEYS_FILE
    if not path.exists():
        return {anchor_key}
    pems = json.loads(path.read_bytes())["verification_certs"]
    return {cert_sha256(x509.load_pem_x509_certificate(p.encode())) for p in pems}


def test_signing_key_rotation_without_a_new_anchor(tmp_path: Path) -> None:
    demo = start_demo(tmp_path / "var", env={
        "XROAD_CS_CONF_GENERATION_S": "1", "XROAD_DEMO_GLOBALCONF_REFRESH_S": "1"})
    try:
        central = demo.instance["central_server"]["url"]
        consumer = demo.server(SERVERS[0])["client_url"]

        def status() -> dict[str, Any]:
            reply: dict[str, Any] = httpx.get(f"{central}/globalconf/status", timeout=10).json()
            return reply

        def exchange_works() -> bool:
            return httpx.get(consumer + PERSON_PATH, headers={"X-Road-Client": PORTAL},
                             timeout=30).status_code == 200

        def servers_at(version: int) -> bool:
            return all(httpx.get(f"{demo.server(s)['client_url']}/health", timeout=10).json()
                       .get("globalconf", {}).get("version") == version for s in SERVERS)

        assert exchange_works()
        anchor = (demo.data_dir / "central" / "anchor.json").read_bytes()
        old = status()["signing_key"]["cert_sha256"]
        token = SoftwareToken(demo.data_dir / "central" / "token")

        new = cert_sha256(prepare_next_key(token, PIN, "MN", datetime.now(UTC)))
        _wait("the announcement", lambda: [k["cert_sha256"] for k in status()["next_keys"]]
              == [new])
        for server in SERVERS:
            _wait(f"{server} to trust the next key",
                  lambda s=server: _trusted(demo, s, old) == {old, new})

        activate_next_key(token, datetime.now(UTC), min_announcement=timedelta(0))
        _wait("the switch", lambda: status()["signing_key"]["cert_sha256"] == new)
        switched = status()
        assert switched["next_keys"] == []
        _wait("both servers on the new key's configuration",
              lambda: servers_at(switched["version"]))
        for server in SERVERS:
            assert _trusted(demo, server, old) == {new}  # the retired key is dropped
        assert exchange_works()
        assert (demo.data_dir / "central" / "anchor.json").read_bytes() == anchor
    finally:
        demo.stop()
