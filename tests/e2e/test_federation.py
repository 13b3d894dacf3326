"""Federation of two instances (MN and LA) through real processes (ADR 0008).

Each instance is a demo of its own: its own central server, dev PKI, security servers and
civil registry, on free ports. The central servers' administrators exchange configuration
anchors (`xroad federation add`), the security servers follow with their next refresh, and a
subsystem of one instance calls a service of the other once the provider grants it an access
right (`xroad acl grant`): nothing is implied by federation.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.demo import RunningDemo, audit_records, start_demo
from xroad.cli.demo import DEMO_PERSON

pytestmark = pytest.mark.e2e

LA_SEED = Path(__file__).parents[2] / "xroad" / "demo" / "la-instance.toml"
FAST = {"XROAD_CS_CONF_GENERATION_S": "1", "XROAD_DEMO_GLOBALCONF_REFRESH_S": "1"}

MN_CONSUMER, MN_PROVIDER = "MN/GOV/EMONGOLIA/ss1", "MN/GOV/GASR/ss1"
MN_PORTAL = "MN/GOV/EMONGOLIA/portal"
LA_SERVER, LA_PORTAL = "LA/GOV/MOHA/ss1", "LA/GOV/MOHA/portal"
PERSON = "/%D0%A3%D0%9199112233"  # the demo person, a path under the persons service
LA_PERSONS = "LA/GOV/MOHA/civil-registry/persons"
MN_PERSONS = "MN/GOV/GASR/civil-registry/persons"


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningDemo, RunningDemo]]:
    root = tmp_path_factory.mktemp("federation")
    with ThreadPoolExecutor(2) as pool:  # both at once: each takes about 15 s
        futures = [pool.submit(start_demo, root / "mn", env=FAST),
                   pool.submit(start_demo, root / "la",
                               env={**FAST, "XROAD_DEMO_SEED": str(LA_SEED)})]
    started = [f.result() for f in futures if f.exception() is None]
    if len(started) < len(futures):  # stop the one that started, then say why
        for demo in started:
            demo.stop()
        raise next(e for f in futures if (e := f.exception()) is not None)
    try:
        yield started[0], started[1]
    finally:
        for demo in started:
            demo.stop()


def xroad(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xroad.cli.main", *args], capture_output=True,
                          text=True, timeout=60, check=False)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def call(demo: RunningDemo, server: str, client: str, service: str) -> httpx.Response:
    return httpx.get(demo.server(server)["client_url"] + f"/r1/{service}" + PERSON, timeout=30,
                     headers={"X-Road-Client": client, "X-Road-Id": str(uuid.uuid4())})


def error(reply: httpx.Response) -> str | None:
    return reply.headers.get("X-Road-Error")


def wait(what: str, check: Callable[[], bool], timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def federated(demo: RunningDemo, server: str) -> dict[str, Any]:
    health: dict[str, Any] = httpx.get(demo.server(server)["client_url"] + "/health",
                                       timeout=10).json()
    found: dict[str, Any] = health.get("federated", {})
    return found


def anchor(demo: RunningDemo) -> str:
    return str(demo.data_dir / "central" / "anchor.json")


def test_two_instances_federate_and_exchange_with_explicit_access_rights(
        demos: tuple[RunningDemo, RunningDemo]) -> None:
    mn, la = demos
    assert la.instance["instance"] == "LA"
    assert la.instance["demo_client"] == {"subsystem": LA_PORTAL, "security_server": LA_SERVER}

    # Nobody trusts LA yet: MN's client proxy does not know the instance.
    refused = call(mn, MN_CONSUMER, MN_PORTAL, LA_PERSONS)
    assert error(refused) == "Server.ClientProxy.UnknownMember", refused.text
    assert "'LA' is not federated with MN" in refused.json()["message"]

    # MN trusts LA, LA not yet MN: LA's server proxy refuses MN's security server.
    assert "trusted instance LA" in ok(xroad("federation", "add", anchor(la),
                                             "--data-dir", str(mn.data_dir)))
    assert "federated with:   LA" in ok(xroad("globalconf", "show", "--data-dir",
                                               str(mn.data_dir)))
    wait("MN's consumer server to follow LA", lambda: "LA" in federated(mn, MN_CONSUMER))
    one_sided = call(mn, MN_CONSUMER, MN_PORTAL, LA_PERSONS)
    assert one_sided.status_code != 200
    assert error(one_sided) in {"Server.ClientProxy.SslAuthenticationFailed",
                                "Server.ClientProxy.NetworkError"}, one_sided.text

    # Mutual trust, but no access right: LA's provider server refuses MN's portal.
    ok(xroad("federation", "add", anchor(mn), "--data-dir", str(la.data_dir)))
    assert "MN " in ok(xroad("federation", "list", "--data-dir", str(la.data_dir)))
    wait("LA's server to follow MN", lambda: "MN" in federated(la, LA_SERVER))
    denied = call(mn, MN_CONSUMER, MN_PORTAL, LA_PERSONS)
    assert error(denied) == "Server.ServerProxy.AccessDenied", denied.text

    # The provider grants MN's portal explicitly: the exchange goes through.
    ok(xroad("acl", "grant", "--data-dir", str(la.data_dir), "--server", LA_SERVER,
             "--subject", MN_PORTAL, "--service", LA_PERSONS, "--method", "GET", "--path", "/*"))
    wait("the access right", lambda: call(mn, MN_CONSUMER, MN_PORTAL, LA_PERSONS)
         .status_code == 200)
    reply = call(mn, MN_CONSUMER, MN_PORTAL, LA_PERSONS)
    assert reply.status_code == 200, reply.text
    assert reply.json()["register_number"] == DEMO_PERSON
    assert reply.headers["X-Road-Service"] == LA_PERSONS

    # Both sides recorded it, each with the other instance's identifiers.
    request_id = reply.headers["X-Road-Request-Id"]
    for demo, server in ((mn, MN_CONSUMER), (la, LA_SERVER)):
        records = {r["kind"]: r for r in audit_records(demo, server)
                   if r["request_id"] == request_id}
        assert set(records) == {"request", "response"}, server
        assert all(r["outcome"] == "ok" for r in records.values())
        assert records["request"]["client"] == MN_PORTAL
        assert records["request"]["service"] == LA_PERSONS
        assert records["request"]["message_id"] == reply.headers["X-Road-Id"]
    assert "exchange.served" in la.log(f"ss-{LA_SERVER.replace('/', '_')}")

    # The other direction needs its own grant on MN's provider server.
    assert error(call(la, LA_SERVER, LA_PORTAL, MN_PERSONS)) == "Server.ServerProxy.AccessDenied"
    ok(xroad("acl", "grant", "--data-dir", str(mn.data_dir), "--server", MN_PROVIDER,
             "--subject", LA_PORTAL, "--service", MN_PERSONS, "--method", "GET", "--path", "/*"))
    wait("LA's portal to reach MN", lambda: call(la, LA_SERVER, LA_PORTAL, MN_PERSONS)
         .status_code == 200)

    # An instance nobody trusts is refused before anything is signed or sent.
    unknown = call(mn, MN_CONSUMER, MN_PORTAL, "XX/GOV/NOBODY/registry/persons")
    assert error(unknown) == "Server.ClientProxy.UnknownMember", unknown.text
    assert "'XX' is not federated with MN" in unknown.json()["message"]

    # MN's central server stops trusting LA: its security servers drop it.
    assert "removed" in ok(xroad("federation", "remove", "LA", "--data-dir", str(mn.data_dir)))
    wait("MN's consumer server to drop LA", lambda: "LA" not in federated(mn, MN_CONSUMER))
    dropped = call(mn, MN_CONSUMER, MN_PORTAL, LA_PERSONS)
    assert error(dropped) == "Server.ClientProxy.UnknownMember", dropped.text
    cached = mn.server_dir(MN_CONSUMER) / "globalconf-LA.signed.json"
    wait("the dropped instance's cached copy to go", lambda: not cached.exists())
