"""`xroad acl` changes a running provider's access rights without a restart."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from tests.e2e.demo import RunningDemo
from tests.e2e.test_exchange import PERSON_PATH, PORTAL, client_url

pytestmark = pytest.mark.e2e

PROVIDER = "MN/GOV/GASR/ss1"
RIGHT = ["--subject", PORTAL, "--service", "MN/GOV/GASR/civil-registry/persons",
         "--method", "GET", "--path", "/*"]


def acl(demo: RunningDemo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xroad.cli.main", "acl", *args,
                           "--data-dir", str(demo.data_dir)],
                          capture_output=True, text=True, check=False, timeout=60)


def status(demo: RunningDemo) -> tuple[int, str | None]:
    reply = httpx.get(client_url(demo) + PERSON_PATH, headers={"X-Road-Client": PORTAL},
                      timeout=30)
    return reply.status_code, reply.headers.get("X-Road-Error")


def wait_for(demo: RunningDemo, expected: tuple[int, str | None]) -> None:
    deadline = time.monotonic() + 10
    while status(demo) != expected and time.monotonic() < deadline:
        time.sleep(0.3)
    assert status(demo) == expected


def test_revoke_and_grant_take_effect_on_the_running_server(demo: RunningDemo) -> None:
    listed = acl(demo, "list", "--server", PROVIDER)
    assert listed.returncode == 0, listed.stderr
    assert f"{PORTAL} -> MN/GOV/GASR/civil-registry/persons GET /*" in listed.stdout

    revoked = acl(demo, "revoke", *RIGHT, "--server", PROVIDER)
    try:
        assert revoked.returncode == 0, revoked.stderr
        wait_for(demo, (500, "Server.ServerProxy.AccessDenied"))
    finally:
        granted = acl(demo, "grant", *RIGHT, "--server", PROVIDER)
    assert granted.returncode == 0, granted.stderr
    wait_for(demo, (200, None))


def test_a_broken_serverconf_keeps_the_last_good_rights(demo: RunningDemo) -> None:
    path = demo.server_dir(PROVIDER) / "serverconf.toml"
    good = path.read_text()
    try:
        path.write_text(good + "\n[[access]]\nsubject = 'not an identifier'\n")
        time.sleep(1.5)
        assert status(demo) == (200, None)
        assert "serverconf.reload_refused" in demo.log("ss-MN_GOV_GASR_ss1")
    finally:
        path.write_text(good)


@pytest.mark.parametrize(("args", "message"), [
    (["list"], "holds 2 security servers; choose one with --server"),
    (["list", "--server", "MN/GOV/NOPE/ss9"], "no security server MN/GOV/NOPE/ss9"),
    (["grant", "--subject", PORTAL, "--service", "MN/GOV/GASR/civil-registry/nosuch",
      "--server", PROVIDER], "not provided on this security server"),
    (["revoke", "--subject", "LOCALGROUP:nobody", "--service",
      "MN/GOV/GASR/civil-registry/persons", "--server", PROVIDER], "no such access right"),
    (["grant", "--subject", "MN/GOV/bad id", "--service",
      "MN/GOV/GASR/civil-registry/persons", "--server", PROVIDER], "invalid client"),
    (["grant", *RIGHT[:4], "--method", "GET", "--server", PROVIDER], "both --method and --path"),
], ids=["ambiguous-server", "unknown-server", "unknown-service", "not-granted", "bad-subject",
        "half-endpoint"])
def test_mistakes_get_one_clear_line(demo: RunningDemo, args: list[str], message: str) -> None:
    result = acl(demo, *args)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
