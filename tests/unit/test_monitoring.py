"""Operational monitoring: what `Monitor` counts from audit records, and how it exposes it."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from audit.record import AuditEntry, AuditRecord
from xroad.errors import LoggingFailed
from xroad.proxy.context import SecurityServer
from xroad.proxy.monitoring import OTHER, Monitor

PORTAL = "MN/GOV/EMONGOLIA/portal"
PERSONS = "MN/GOV/GASR/civil-registry/persons"
GET_PERSON = "MN/GOV/GASR/civil-registry/getPerson/v1"


def record(kind: str = "response", *, client: str = PORTAL, service: str = PERSONS,
           outcome: str = "ok", latency_ms: float | None = 12.0) -> AuditRecord:
    return AuditRecord(
        at=datetime(2026, 1, 1, tzinfo=UTC), security_server="MN/GOV/GASR/ss1", kind=kind,
        message_id="m-1", request_id="r-1", client=client, service=service, user_id=None,
        issue=None, represented_party=None, message_digest=None, signature_digest=None,
        signer_cert_sha256=None, outcome=outcome,
        latency_ms=latency_ms if kind == "response" else None)


def samples(monitor: Monitor) -> list[Sample]:
    body, content_type = monitor.render()
    assert content_type.startswith("text/plain")
    return [s for family in text_string_to_metric_families(body.decode())
            for s in family.samples]


def value(monitor: Monitor, name: str, **labels: str) -> float | None:
    found = [s.value for s in samples(monitor)
             if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) <= 1, found
    return found[0] if found else None


def test_only_response_records_count_exchanges() -> None:
    monitor = Monitor()
    monitor.observe(record("request"), "provider")
    assert value(monitor, "xroad_exchanges_total", role="provider") is None
    monitor.observe(record(), "provider")
    monitor.observe(record(outcome="Server.ServerProxy.AccessDenied"), "provider")
    monitor.observe(record(), "consumer")

    assert value(monitor, "xroad_exchanges_total", role="provider", client=PORTAL,
                 service=PERSONS, outcome="ok") == 1
    assert value(monitor, "xroad_exchanges_total", role="provider",
                 outcome="Server.ServerProxy.AccessDenied") == 1
    assert value(monitor, "xroad_exchanges_total", role="consumer", outcome="ok") == 1
    assert value(monitor, "xroad_audit_records_total") == 4
    assert value(monitor, "xroad_audit_write_failures_total") == 0


def test_latency_lands_in_the_right_bucket() -> None:
    monitor = Monitor()
    monitor.observe(record(latency_ms=3.0), "consumer")  # 3 ms
    monitor.observe(record(latency_ms=20_000.0), "consumer")  # 20 s
    monitor.observe(record(latency_ms=None), "consumer")  # counted, not timed

    def bucket(le: str) -> float | None:
        return value(monitor, "xroad_exchange_duration_seconds_bucket", role="consumer",
                     service=PERSONS, le=le)

    assert bucket("0.001") == 0
    assert bucket("0.005") == 1
    assert bucket("10.0") == 1
    assert bucket("30.0") == 2
    assert bucket("+Inf") == 2
    assert value(monitor, "xroad_exchange_duration_seconds_count", role="consumer") == 2
    assert value(monitor, "xroad_exchange_duration_seconds_sum",
                 role="consumer") == pytest.approx(20.003)
    assert value(monitor, "xroad_exchanges_total", role="consumer") == 3


def test_gauges_are_read_at_scrape_time() -> None:
    monitor = Monitor()
    readings = iter([1_767_225_600.0, None])
    monitor.add_gauge("xroad_globalconf_expiry_timestamp_seconds", "expiry",
                      lambda: next(readings))
    assert value(monitor, "xroad_globalconf_expiry_timestamp_seconds") == 1_767_225_600.0
    assert value(monitor, "xroad_globalconf_expiry_timestamp_seconds") is None  # no sample


def test_a_failing_gauge_does_not_fail_the_scrape() -> None:
    monitor = Monitor()

    def broken() -> float:
        raise OSError("database is locked")

    monitor.add_gauge("xroad_audit_log_records", "records", broken)
    monitor.add_gauge("xroad_audit_timestamp_tolerance_seconds", "tolerance", lambda: 14400.0)
    assert value(monitor, "xroad_audit_log_records") is None
    assert value(monitor, "xroad_audit_timestamp_tolerance_seconds") == 14400.0


def test_label_sets_beyond_the_limit_share_an_overflow_series() -> None:
    monitor = Monitor(max_label_sets=3)
    for n in range(10):
        monitor.observe(record(service=f"{PERSONS}{n}", outcome="ok" if n % 2 else "Boom"),
                        "provider")
    exchanges = [s for s in samples(monitor) if s.name == "xroad_exchanges_total"]
    assert len(exchanges) == 3 + 2  # three admitted label sets, overflow for ok and faults
    assert {(s.labels["service"], s.labels["outcome"], s.value) for s in exchanges
            if s.labels["service"] == OTHER} == {(OTHER, "ok", 4.0), (OTHER, OTHER, 3.0)}
    assert sum(s.value for s in exchanges) == 10
    durations = {s.labels["service"] for s in samples(monitor)
                 if s.name == "xroad_exchange_duration_seconds_count"}
    assert durations == {f"{PERSONS}0", f"{PERSONS}1", f"{PERSONS}2", OTHER}
    # Label sets admitted before the limit keep counting under their own names.
    monitor.observe(record(service=f"{PERSONS}0", outcome="Boom"), "provider")
    assert value(monitor, "xroad_exchanges_total", service=f"{PERSONS}0") == 2


def test_monitors_do_not_share_counters() -> None:
    first, second = Monitor(), Monitor()
    first.observe(record(), "consumer")
    assert value(first, "xroad_audit_records_total") == 1
    assert value(second, "xroad_audit_records_total") == 0


def test_openmetrics_when_asked() -> None:
    monitor = Monitor()
    monitor.observe(record(service=GET_PERSON), "provider")
    body, content_type = monitor.render("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")
    assert f'service="{GET_PERSON}"'.encode() in body


class FakeAuditLog:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.records: list[AuditEntry] = []

    async def append(self, item: AuditEntry) -> int:
        if self.fail:
            raise LoggingFailed("audit record could not be written: OperationalError")
        self.records.append(item)
        return len(self.records) - 1


def server(audit: FakeAuditLog, monitor: Monitor | None) -> SecurityServer:
    required = [f.name for f in dataclasses.fields(SecurityServer)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    values: dict[str, object] = dict.fromkeys(required)
    return SecurityServer(**values | {"audit": audit, "monitor": monitor})  # type: ignore[arg-type]


def test_security_server_counts_what_it_records_and_what_it_could_not() -> None:
    monitor = Monitor()
    ss = server(FakeAuditLog(), monitor)
    assert asyncio.run(ss.record(record(), role="consumer")) == 0
    assert value(monitor, "xroad_exchanges_total", role="consumer", outcome="ok") == 1

    failing = server(FakeAuditLog(fail=True), monitor)
    with pytest.raises(LoggingFailed):
        asyncio.run(failing.record(record(), role="consumer"))
    assert value(monitor, "xroad_audit_write_failures_total") == 1
    assert value(monitor, "xroad_audit_records_total") == 1
    assert value(monitor, "xroad_exchanges_total", role="consumer", outcome="ok") == 1


def test_security_server_without_a_monitor_just_records() -> None:
    audit = FakeAuditLog()
    assert asyncio.run(server(audit, None).record(record(), role="provider")) == 0
    assert [entry.record for entry in audit.records] == [record()]
