"""Operational monitoring of one security server, exposed in the Prometheus text format.

Counts and latencies come from the audit records the proxies write anyway (`observe`, on the
hot path: a dictionary lookup and an increment per record); gauges such as the global
configuration's expiry are read from callables only when Prometheus scrapes. Each `Monitor`
owns its registry, so two servers in one process (tests) never share a counter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final, Generic, Literal, TypeVar

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from audit.record import AuditRecord

log = structlog.get_logger(__name__)

ExchangeRole = Literal["consumer", "provider"]  # which side this server was on

# Exchanges take from about a millisecond (metaservices) to the service timeout (30 s default).
DURATION_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                           1.0, 2.5, 5.0, 10.0, 30.0)
MAX_LABEL_SETS: Final = 10_000
OTHER: Final = "other"

_Child = TypeVar("_Child", bound=MetricWrapperBase)


class _BoundedChildren(Generic[_Child]):
    """A metric's children by label values, at most `limit` of them: once full, new label
    sets share one overflow child, so a misbehaving peer cannot grow the series without end.
    Children are cached, which also spares prometheus_client's label checks per record."""

    def __init__(self, name: str, metric: _Child, limit: int,
                 overflow: Callable[[tuple[str, ...]], tuple[str, ...]]) -> None:
        self._name = name
        self._metric: _Child = metric
        self._limit = limit
        self._overflow = overflow
        self._children: dict[tuple[str, ...], _Child] = {}

    def get(self, labels: tuple[str, ...]) -> _Child:
        child = self._children.get(labels)
        if child is not None:
            return child
        if len(self._children) >= self._limit:
            labels = self._overflow(labels)
            child = self._children.get(labels)
            if child is not None:
                return child
            log.warning("monitoring.label_limit_reached", metric=self._name,
                        limit=self._limit)  # once per overflow label set, so rarely
        child = self._metric.labels(*labels)
        self._children[labels] = child
        return child


class _ScrapeTimeGauge:
    """A gauge whose value a callable supplies at scrape time (None: no sample now)."""

    def __init__(self, name: str, documentation: str, read: Callable[[], float | None]) -> None:
        self._name = name
        self._documentation = documentation
        self._read = read

    def describe(self) -> Iterable[Metric]:
        return [GaugeMetricFamily(self._name, self._documentation)]

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(self._name, self._documentation)
        try:
            value = self._read()
        except Exception as e:  # one unreadable gauge must not fail the whole scrape
            log.warning("monitoring.gauge_failed", gauge=self._name, reason=repr(e))
            value = None
        if value is not None:
            family.add_metric([], value)
        return [family]


def _exchange_overflow(labels: tuple[str, ...]) -> tuple[str, ...]:
    role, _client, _service, outcome = labels
    return role, OTHER, OTHER, outcome if outcome == "ok" else OTHER


def _duration_overflow(labels: tuple[str, ...]) -> tuple[str, ...]:
    return labels[0], OTHER


class Monitor:
    def __init__(self, *, max_label_sets: int = MAX_LABEL_SETS) -> None:
        self.registry = CollectorRegistry()
        exchanges = Counter(
            "xroad_exchanges_total", "Exchanges completed, by this server's role, client, "
            "service and outcome (ok or the X-Road fault code)",
            ["role", "client", "service", "outcome"], registry=self.registry)
        duration = Histogram(
            "xroad_exchange_duration_seconds", "Time from receiving a request to having its "
            "response recorded, by this server's role and service",
            ["role", "service"], buckets=DURATION_BUCKETS, registry=self.registry)
        self._exchanges = _BoundedChildren("xroad_exchanges_total", exchanges, max_label_sets,
                                           _exchange_overflow)
        self._duration = _BoundedChildren("xroad_exchange_duration_seconds", duration,
                                          max_label_sets, _duration_overflow)
        self._records = Counter("xroad_audit_records_total", "Audit records written durably",
                                registry=self.registry)
        self._write_failures = Counter(
            "xroad_audit_write_failures_total",
            "Audit records that could not be written (each one an exchange refused)",
            registry=self.registry)
        ProcessCollector(registry=self.registry)  # process_* (CPU, memory, open files)

    def observe(self, record: AuditRecord, role: ExchangeRole) -> None:
        """Count one durably written audit record; a response record ends an exchange."""
        self._records.inc()
        if record.kind != "response":
            return
        self._exchanges.get((role, record.client, record.service, record.outcome)).inc()
        if record.latency_ms is not None:
            self._duration.get((role, record.service)).observe(record.latency_ms / 1000)

    def audit_write_failed(self) -> None:
        self._write_failures.inc()

    def add_gauge(self, name: str, documentation: str,
                  read: Callable[[], float | None]) -> None:
        """Expose `read()` as gauge `name`, called at every scrape (from a worker thread)."""
        self.registry.register(_ScrapeTimeGauge(name, documentation, read))

    def render(self, accept: str = "") -> tuple[bytes, str]:
        """The exposition body and its content type (OpenMetrics if `accept` asks for it).

        Blocking (gauges may query the audit database): call it from a worker thread."""
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type
