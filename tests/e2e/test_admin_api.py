"""The security server's admin API for access rights, with X-Road style API keys."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.e2e.demo import RunningDemo
from tests.e2e.test_exchange import PERSON_PATH, PORTAL, client_url

pytestmark = pytest.mark.e2e

PROVIDER = "MN/GOV/GASR/ss1"
RIGHTS = "/api/v1/access-rights"
FAMILY_RIGHT = {"subject": PORTAL, "service": "MN/GOV/GASR/civil-registry/persons",
                "method": "GET", "path": "/*/family"}


def key(demo: RunningDemo, name: str) -> dict[str, str]:
    token = (demo.server_dir(PROVIDER) / name).read_text().strip()
    return {"Authorization": f"X-Road-ApiKey token={token}"}


def admin(demo: RunningDemo) -> str:
    return demo.server(PROVIDER)["admin_url"]


def family_status(demo: RunningDemo) -> int:
    return httpx.get(client_url(demo) + PERSON_PATH + "/family", timeout=30,
                     headers={"X-Road-Client": PORTAL}).status_code


def test_list_revoke_and_grant_through_the_api(demo: RunningDemo) -> None:
    listed = httpx.get(admin(demo) + RIGHTS, headers=key(demo, "admin-api-key"), timeout=10)
    assert listed.status_code == 200
    assert FAMILY_RIGHT in listed.json()

    revoked = httpx.post(admin(demo) + RIGHTS + "/revoke", json=FAMILY_RIGHT,
                         headers=key(demo, "admin-api-key"), timeout=10)
    try:
        assert revoked.status_code == 200, revoked.text
        deadline = time.monotonic() + 10
        while family_status(demo) == 200 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert family_status(demo) == 500
    finally:
        granted = httpx.post(admin(demo) + RIGHTS, json=FAMILY_RIGHT,
                             headers=key(demo, "admin-api-key"), timeout=10)
    assert granted.status_code == 201, granted.text
    deadline = time.monotonic() + 10
    while family_status(demo) != 200 and time.monotonic() < deadline:
        time.sleep(0.3)
    assert family_status(demo) == 200
    log = demo.log("ss-MN_GOV_GASR_ss1")
    assert "admin.access_rights_changed" in log
    assert (demo.server_dir(PROVIDER) / "admin-api-key").read_text().strip() not in log


def test_observers_may_read_but_not_change(demo: RunningDemo) -> None:
    observer = key(demo, "observer-api-key")
    assert httpx.get(admin(demo) + RIGHTS, headers=observer, timeout=10).status_code == 200
    reply = httpx.post(admin(demo) + RIGHTS, json=FAMILY_RIGHT, headers=observer, timeout=10)
    assert reply.status_code == 403
    assert reply.json()["type"] == "Forbidden"


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "X-Road-ApiKey token=wrong"}, {"Authorization": "Bearer x"}],
    ids=["none", "wrong-key", "other-scheme"])
def test_unknown_callers_are_refused(demo: RunningDemo, headers: dict[str, str]) -> None:
    reply = httpx.get(admin(demo) + RIGHTS, headers=headers, timeout=10)
    assert reply.status_code == 401
    assert reply.json()["type"] == "Unauthorized"


@pytest.mark.parametrize("body", [
    b"{not json", b"[]", b'{"subject": "MN/GOV/EMONGOLIA/portal"}',
    b'{"subject": "x y", "service": "MN/GOV/GASR/civil-registry/persons"}',
    b'{"subject": "MN/GOV/EMONGOLIA/portal", "service": "MN/GOV/GASR/civil-registry/nosuch"}',
    b'{"subject": "MN/GOV/EMONGOLIA/portal", "service": "MN/GOV/GASR/civil-registry/persons",'
    b' "method": "GET"}',
], ids=["malformed", "not-an-object", "no-service", "bad-subject", "unknown-service",
        "half-endpoint"])
def test_bad_requests_get_a_clear_400(demo: RunningDemo, body: bytes) -> None:
    reply = httpx.post(admin(demo) + RIGHTS, content=body, timeout=10,
                       headers={**key(demo, "admin-api-key"), "Content-Type": "application/json"})
    assert reply.status_code == 400, reply.text
    assert reply.json()["type"] == "BadRequest"
    assert "Traceback" not in reply.text
