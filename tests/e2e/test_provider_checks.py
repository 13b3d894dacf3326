"""Provider-side checks through the real servers: access rights per endpoint, replay."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.e2e.demo import RunningDemo, audit_records
from tests.e2e.test_exchange import PERSON_PATH, PORTAL, assert_rest_fault, client_url

pytestmark = pytest.mark.e2e


def get(demo: RunningDemo, path: str, **headers: str) -> httpx.Response:
    return httpx.get(client_url(demo) + path, timeout=30,
                     headers={"X-Road-Client": PORTAL, **headers})


def test_granted_endpoint_with_a_second_segment_pattern(demo: RunningDemo) -> None:
    reply = get(demo, PERSON_PATH + "/family")
    assert reply.status_code == 200, reply.text
    assert reply.json()["relatives"]


@pytest.mark.parametrize("path", [
    PERSON_PATH + "/family/extra",
    "/r1/MN/GOV/GASR/civil-registry/persons",
    "/r1/MN/GOV/GASR/civil-registry/persons/%2E%2E/admin",
    "/r1/MN/GOV/GASR/civil-registry/persons/a%2Fb",
    "/r1/MN/GOV/GASR/civil-registry/persons//x",
    "/r1/MN/GOV/GASR/civil-registry/persons/x/%2e%2e/family",
], ids=["deeper-than-granted", "no-segment", "encoded-dot-dot", "encoded-slash", "empty-segment",
        "dot-dot-back-into-granted"])
def test_paths_outside_the_granted_endpoints_are_denied(demo: RunningDemo, path: str) -> None:
    assert_rest_fault(demo, get(demo, path), 500, "Server.ServerProxy.AccessDenied")


def test_method_not_granted_is_denied(demo: RunningDemo) -> None:
    reply = httpx.post(client_url(demo) + PERSON_PATH, content=b"{}", timeout=30,
                       headers={"X-Road-Client": PORTAL, "Content-Type": "application/json"})
    assert_rest_fault(demo, reply, 500, "Server.ServerProxy.AccessDenied")


def test_a_message_id_is_accepted_once_per_client(demo: RunningDemo) -> None:
    message_id = str(uuid.uuid4())
    assert get(demo, PERSON_PATH, **{"X-Road-Id": message_id}).status_code == 200
    replay = get(demo, PERSON_PATH, **{"X-Road-Id": message_id})
    assert_rest_fault(demo, replay, 500, "Server.ServerProxy.ReplayedMessage")
    records = [r for r in audit_records(demo, "MN/GOV/GASR/ss1") if r["message_id"] == message_id]
    assert [r["outcome"] for r in records] == ["ok", "ok", "Server.ServerProxy.ReplayedMessage"]
