"""The citizen portal over the real bus: the demo's portal composes the full profile, every
request id it returns is in the provider's audit log with the portal's purpose, and portals
started here (real processes, same demo) show partial results when a registry is refused or
too slow. The shared demo's processes are only asked, never stopped."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.e2e.demo import RunningDemo
from tests.e2e.test_audit_api import search
from tests.e2e.test_exchange import PORTAL, PROVIDER, client_url
from xroad.cli.demo import DEMO_PERSON

pytestmark = pytest.mark.e2e

PERSON = quote(DEMO_PERSON, safe="")
SUBSYSTEMS = {"civil": "MN/GOV/GASR/civil-registry", "land": "MN/GOV/ALAMGAC/land-registry",
              "vehicle": "MN/GOV/RTDC/vehicle-registry", "tax": "MN/GOV/MTA/tax-registry"}
STARTUP_TIMEOUT_S = 60.0


def portal_url(demo: RunningDemo) -> str:
    url: str = demo.instance["portal"]["url"]
    return url


def profile(url: str) -> dict[str, Any]:
    reply = httpx.get(f"{url}/api/profile/{PERSON}", timeout=60)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def test_the_demo_portal_composes_the_full_profile(demo: RunningDemo) -> None:
    body = profile(portal_url(demo))
    assert body["errors"] == {}
    assert body["complete"] is True
    assert body["person"]["family_name"] == "Бат-Эрдэнэ"
    assert "0101000001" in [p["parcel_id"] for p in body["parcels"]]
    assert "1234УБА" in [v["plate_number"] for v in body["vehicles"]]
    assert body["tax"]["tin"] == "220299112233"
    assert body["tax"]["tax_year"] is not None


def test_each_request_id_is_in_the_provider_s_audit_log_with_the_purpose(
        demo: RunningDemo) -> None:
    body = profile(portal_url(demo))
    assert set(body["request_ids"]) == set(SUBSYSTEMS)
    for registry, request_id in body["request_ids"].items():
        records = search(demo, PROVIDER, request_id=request_id)
        assert {r["kind"] for r in records} == {"request", "response"}, (registry, records)
        for record in records:
            assert record["client"] == PORTAL
            assert record["service"].startswith(SUBSYSTEMS[registry] + "/")
            assert record["issue"] == body["purpose"]
            assert record["message_id"] == body["message_ids"][registry]
            assert record["outcome"] == "ok"


def test_the_profile_page_is_html_for_people(demo: RunningDemo) -> None:
    url = portal_url(demo)
    index = httpx.get(url + "/", timeout=30)
    assert index.status_code == 200
    assert 'action="/profile"' in index.text
    page = httpx.get(f"{url}/profile/{PERSON}", timeout=60)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for text in ('<html lang="mn">', "Бат-Эрдэнэ", "0101000001", "1234УБА", "220299112233"):
        assert text in page.text, text
    assert "<script" not in page.text
    uuid_text = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    assert len(set(re.findall(uuid_text, page.text))) == 8  # a request and a message id each


def test_an_unknown_person_is_404_and_a_malformed_number_400(demo: RunningDemo) -> None:
    url = portal_url(demo)
    unknown = httpx.get(f"{url}/api/profile/{quote('УБ88010112', safe='')}", timeout=60)
    assert unknown.status_code == 404, unknown.text
    assert "civil registry knows no person" in unknown.json()["message"]
    malformed = httpx.get(f"{url}/api/profile/UB99112233", timeout=30)
    assert malformed.status_code == 400
    assert malformed.json()["type"] == "InvalidRegisterNumber"


# -- portals of our own, against the same demo ----------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start_portal(demo: RunningDemo, log: Path, settings: dict[str, str]
                  ) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "XROAD_PORTAL_SECURITY_SERVER_URL": client_url(demo), **settings}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "xroad.cli.main", "serve", "portal", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return process, f"http://127.0.0.1:{port}"


def _wait_healthy(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(errors="replace")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"portal not healthy after {STARTUP_TIMEOUT_S:.0f} s:\n{log.read_text()}")


PORTALS = {
    "refused": {"XROAD_PORTAL_LAND_SERVICE": "MN/GOV/ALAMGAC/land-registry/no-such-service"},
    "slow": {"XROAD_PORTAL_TIMEOUTS_S": json.dumps({"tax": 0.001})},
}


@pytest.fixture(scope="module")
def own_portals(demo: RunningDemo, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[dict[str, str]]:
    """Both portals start together (each is a Python process: startup dominates)."""
    logs = tmp_path_factory.mktemp("portals")
    started = {name: (*_start_portal(demo, logs / f"{name}.log", env), logs / f"{name}.log")
               for name, env in PORTALS.items()}
    try:
        for process, url, log in started.values():
            _wait_healthy(process, url, log)
        yield {name: url for name, (_, url, _) in started.items()}
    finally:
        for process, _, _ in started.values():
            process.terminate()
        for process, _, _ in started.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_a_service_the_bus_cannot_serve_leaves_only_its_section_empty(
        own_portals: dict[str, str]) -> None:
    body = profile(own_portals["refused"])
    assert body["parcels"] is None
    assert body["status"]["land"] == "refused"
    assert set(body["errors"]) == {"land"}
    assert re.search(r"land registry.*: (Client|Server)\.\w+", body["errors"]["land"]), body
    assert body["person"]["family_name"] == "Бат-Эрдэнэ"
    assert "1234УБА" in [v["plate_number"] for v in body["vehicles"]]
    assert body["tax"]["tin"] == "220299112233"


def test_a_registry_slower_than_its_timeout_leaves_only_its_section_empty(
        own_portals: dict[str, str]) -> None:
    body = profile(own_portals["slow"])
    assert body["tax"] is None
    assert body["status"]["tax"] == "timeout"
    assert body["errors"] == {"tax": "The tax registry did not answer within 0.001 s"}
    assert body["person"]["family_name"] == "Бат-Эрдэнэ"
    assert "0101000001" in [p["parcel_id"] for p in body["parcels"]]
    assert "1234УБА" in [v["plate_number"] for v in body["vehicles"]]
    page = httpx.get(f"{own_portals['slow']}/profile/{PERSON}", timeout=60)
    assert "секундын дотор хариу ирсэнгүй" in page.text
