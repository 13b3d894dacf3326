"""Operational monitoring: both security servers count an exchange on `GET /metrics`."""

from __future__ import annotations

import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.demo import RunningDemo
from tests.e2e.test_exchange import CONSUMER, PERSON_PATH, PORTAL, PROVIDER, client_url

pytestmark = pytest.mark.e2e

PERSONS = "MN/GOV/GASR/civil-registry/persons"
ROLES = {CONSUMER: {"consumer"}, PROVIDER: {"provider"}}


def scrape(demo: RunningDemo, server: str, key_file: str = "observer-api-key") -> str:
    token = (demo.server_dir(server) / key_file).read_text().strip()
    reply = httpx.get(demo.server(server)["admin_url"] + "/metrics", timeout=10,
                      headers={"Authorization": f"X-Road-ApiKey token={token}"})
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain")
    return reply.text


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [(s.labels, s.value) for family in text_string_to_metric_families(text)
            for s in family.samples if s.name == name]


def ok_persons_exchanges(demo: RunningDemo, server: str) -> float:
    counted = [(labels, value) for labels, value in samples(scrape(demo, server),
                                                            "xroad_exchanges_total")
               if labels["client"] == PORTAL and labels["service"] == PERSONS
               and labels["outcome"] == "ok"]
    assert all(labels["role"] in ROLES[server] for labels, _ in counted), counted
    return sum(value for _, value in counted)


def test_both_servers_count_an_exchange(demo: RunningDemo) -> None:
    before = {server: ok_persons_exchanges(demo, server) for server in (CONSUMER, PROVIDER)}
    reply = httpx.get(client_url(demo) + PERSON_PATH, timeout=30,
                      headers={"X-Road-Client": PORTAL})
    assert reply.status_code == 200, reply.text
    for server in (CONSUMER, PROVIDER):
        assert ok_persons_exchanges(demo, server) == before[server] + 1, server
        text = scrape(demo, server, "admin-api-key")
        durations = [v for labels, v in samples(text, "xroad_exchange_duration_seconds_count")
                     if labels["service"] == PERSONS]
        assert sum(durations) >= 1
        [(_, records)] = samples(text, "xroad_audit_log_records")
        assert records >= 2
        [(_, expiry)] = samples(text, "xroad_globalconf_expiry_timestamp_seconds")
        assert expiry > time.time()
        assert samples(text, "xroad_audit_write_failures_total") == [({}, 0.0)]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "X-Road-ApiKey token=wrong"}],
                         ids=["none", "wrong-key"])
def test_unauthenticated_scrapes_are_refused(demo: RunningDemo,
                                            headers: dict[str, str]) -> None:
    for server in (CONSUMER, PROVIDER):
        reply = httpx.get(demo.server(server)["admin_url"] + "/metrics", headers=headers,
                          timeout=10)
        assert reply.status_code == 401
        assert reply.json()["type"] == "Unauthorized"
        assert "xroad_" not in reply.text
