"""Registering a new member organization end to end, with the real processes.

An administrator registers the member and a subsystem (CLI -> admin API); the consumer security
server asks, signed, to host the subsystem as a client (`xroad server register --client`); the
request waits for a registration officer; once approved, the client appears in the next global
configuration and an exchange from it that was refused before approval goes through.
(`listClients` names the subsystem as soon as it is registered: X-Road's metaservice lists
every member and subsystem of the instance, hosted or not.)

The member's signing key and certificate are put on the consumer server's token before the
demo starts (a security server loads its signing keys at start; the CA issues certificates
independently of registration, as in X-Road). Its own instance: the new member would show up
in other tests' `listClients` expectations.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from keys.devpki import load_dev_ca, new_key
from keys.token import SoftwareToken
from tests.e2e.demo import RunningDemo, start_demo
from xroad.cli.demo import DemoSettings
from xroad.demo.bootstrap import DemoLayout, bootstrap
from xroad.demo.topology import free_ports
from xroad.globalconf.anchor import ConfigurationAnchor
from xroad.globalconf.codec import verify_signed
from xroad.identifiers import ClientId
from xroad.proxy.layout import signing_label

pytestmark = pytest.mark.e2e

CONSUMER = "MN/GOV/EMONGOLIA/ss1"
PROVIDER = "MN/GOV/GASR/ss1"
NEWCO = "MN/COM/NEWCO"
REPORTS = "MN/COM/NEWCO/reports"
PERSON_PATH = "/r1/MN/GOV/GASR/civil-registry/persons/%D0%A3%D0%9199112233"


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    data_dir = tmp_path_factory.mktemp("registration") / "var"
    pin = DemoSettings().token_pin.get_secret_value()
    now = datetime.now(UTC)
    layout = DemoLayout(data_dir)
    bootstrap(layout, free_ports(), pin, now)  # the demo reuses this layout
    ca = load_dev_ca(layout.pki, pin)
    key = new_key()
    cert = ca.issue_signing_cert(ClientId.parse(NEWCO), key.public_key(), now)
    SoftwareToken(data_dir / "ss" / CONSUMER.replace("/", "_") / "token").store(
        signing_label(ClientId.parse(NEWCO)), key, [cert, *ca.chain], pin)
    demo = start_demo(data_dir, env={"XROAD_DEMO_GLOBALCONF_REFRESH_S": "1"})
    yield demo
    demo.stop()


def xroad(demo: RunningDemo, *args: str, key: str | None = None, data_dir: bool = True
          ) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("XROAD_CENTRAL_API_KEY", None)
    if key is not None:
        env["XROAD_CENTRAL_API_KEY"] = (demo.data_dir / "central" / key).read_text().strip()
    where = ["--data-dir", str(demo.data_dir)] if data_dir else []
    return subprocess.run([sys.executable, "-m", "xroad.cli.main", *args, *where],
                          capture_output=True, text=True, check=False, timeout=60, env=env)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def central(demo: RunningDemo) -> str:
    return str(demo.instance["central_server"]["url"])


def consumer_url(demo: RunningDemo) -> str:
    return str(demo.server(CONSUMER)["client_url"])


def eventually(check: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout_s:.0f} s: {what}"
        time.sleep(0.3)


def exchange(demo: RunningDemo) -> httpx.Response:
    return httpx.get(consumer_url(demo) + PERSON_PATH, headers={"X-Road-Client": REPORTS},
                     timeout=30)


def listed_clients(demo: RunningDemo) -> list[dict[str, Any]]:
    reply = httpx.get(consumer_url(demo) + "/listClients?xRoadInstance=MN", timeout=30,
                      headers={"Accept": "application/json"})
    return [m["id"] for m in reply.json()["member"]]


def conf_hosts_reports(demo: RunningDemo) -> bool:
    anchor = ConfigurationAnchor.decode((demo.data_dir / "central" / "anchor.json").read_bytes())
    signed = httpx.get(central(demo) + "/globalconf", timeout=30).content
    conf = verify_signed(signed, anchor.instance, list(anchor.verification_certs)).conf
    server = next(s for s in conf.security_servers if str(s.id) == CONSUMER)
    return ClientId.parse(REPORTS) in server.clients


def test_a_new_member_can_exchange_only_after_its_registration_is_approved(
        instance: RunningDemo) -> None:
    demo = instance
    assert "registered member MN/COM/NEWCO" in ok(
        xroad(demo, "member", "add", NEWCO, "--name", "New Co LLC"))
    assert "added subsystem MN/COM/NEWCO/reports" in ok(xroad(demo, "subsystem", "add", REPORTS))
    assert "MN/COM/NEWCO" in ok(xroad(demo, "member", "list", key="auditor-api-key"))
    # listClients (X-Road: every member and subsystem of the instance) shows it at once.
    eventually(lambda: any(c.get("subsystem_code") == "reports" for c in listed_clients(demo)),
               "listClients naming the new subsystem", timeout_s=15)
    ok(xroad(demo, "acl", "grant", "--subject", REPORTS, "--service",
             "MN/GOV/GASR/civil-registry/persons", "--method", "GET", "--path", "/*",
             "--server", PROVIDER))

    sent = ok(xroad(demo, "server", "register", "--server", CONSUMER, "--client", REPORTS))
    assert "client-registration of MN/COM/NEWCO/reports" in sent
    assert "waiting for a registration officer" in sent
    request_id = sent.split()[1]

    # Waiting for the officer: not in global configuration, not a client, refused.
    time.sleep(2)  # two refresh periods of the security servers
    assert not conf_hosts_reports(demo)
    refused = exchange(demo)
    assert refused.status_code != 200
    assert refused.headers["X-Road-Error"].endswith(("UnknownMember", "InvalidClientIdentifier"))
    pending = ok(xroad(demo, "registration", "list", "--status", "submitted",
                       key="officer-api-key"))
    assert REPORTS in pending

    # Only an officer (or administrator) decides.
    denied = xroad(demo, "registration", "approve", request_id, key="auditor-api-key")
    assert denied.returncode == 1
    assert "Forbidden" in denied.stderr
    assert "approved" in ok(xroad(demo, "registration", "approve", request_id, "--comment",
                                  "contract signed", key="officer-api-key"))

    eventually(lambda: conf_hosts_reports(demo), "the client in global configuration",
               timeout_s=15)  # published at once, not at the next 60 s generation
    eventually(lambda: exchange(demo).status_code == 200, "an accepted exchange")
    answer = exchange(demo)
    assert answer.json()["register_number"] == "УБ99112233", answer.text
    assert answer.headers["X-Road-Client"] == REPORTS

    shown = ok(xroad(demo, "registration", "show", request_id, key="auditor-api-key"))
    assert "contract signed" in shown
    assert "demo registration-officer" in shown
    member = ok(xroad(demo, "member", "show", NEWCO, key="officer-api-key"))
    assert f"client:        {REPORTS} on {CONSUMER}" in member
    trail = httpx.get(central(demo) + "/api/v1/admin-audit", timeout=30, headers={
        "Authorization": "X-Road-ApiKey token="
                         + (demo.data_dir / "central" / "auditor-api-key").read_text().strip()})
    actions = [e["action"] for e in trail.json()["entries"]]
    assert actions[:3] == ["registration.approve", "subsystem.add", "member.add"]


@pytest.mark.parametrize(("args", "key", "message"), [
    (["member", "add", "MN/GOV/GASR", "--name", "again"], None, "Conflict: member MN/GOV/GASR"),
    (["member", "add", "MN/XYZ/NEW", "--name", "x"], None, "unknown member class 'XYZ'"),
    (["member", "add", "MN/COM/bad code", "--name", "x"], None, "invalid client identifier"),
    (["member", "add", "LA/COM/X", "--name", "x"], None, "not of this central server's"),
    (["member", "add", "MN/COM/X", "--name", "x"], "officer-api-key", "Forbidden"),
    (["subsystem", "add", "MN/COM/NOBODY/x"], None, "UnknownMember"),
    (["registration", "approve", "999"], "officer-api-key", "NotFound"),
    (["server", "register", "--server", CONSUMER, "--client", "MN/GOV/NOBODY/x"], None,
     "UnknownMember"),
], ids=["duplicate", "unknown-class", "charset", "other-instance", "officer-adds-member",
        "unknown-member", "unknown-request", "unknown-client"])
def test_mistakes_get_one_clear_line(instance: RunningDemo, args: list[str], key: str | None,
                                     message: str) -> None:
    result = xroad(instance, *args, key=key)
    assert result.returncode == 1, result.stdout
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_globalconf_show_and_verify(instance: RunningDemo, tmp_path) -> None:
    saved = tmp_path / "globalconf.json"
    shown = ok(xroad(instance, "globalconf", "show", "--out", str(saved)))
    assert "instance:         MN" in shown
    assert "verified against the anchor" in shown
    paths = httpx.get(central(instance) + "/openapi.json", timeout=30).json()["paths"]
    assert {"/api/v1/members", "/api/v1/management-requests", "/globalconf"} <= set(paths)
    anchor = instance.data_dir / "central" / "anchor.json"
    assert "verified: instance MN" in ok(xroad(instance, "globalconf", "verify", str(saved),
                                               "--anchor", str(anchor), data_dir=False))
    saved.write_bytes(saved.read_bytes().replace(b'"signature": "', b'"signature": "AAAA'))
    result = xroad(instance, "globalconf", "verify", str(saved), "--anchor", str(anchor),
                   data_dir=False)
    assert result.returncode == 1
    assert "error:" in result.stderr
