"""Traffic figures for the console from what security servers already publish (pure).

Two sources, by what the console role may read:
- operational data (auditor API, X-Road field names): one record per exchange with its time,
  duration and fault code, so exchanges per minute and exact latency percentiles over the
  last hour;
- `/metrics` (observer key): cumulative counters and latency histograms since the server
  started, so totals, faults and percentiles estimated from histogram buckets as Prometheus's
  `histogram_quantile` does; no per-minute series (that would need the console to keep
  scrapes, and it keeps no data of its own).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from prometheus_client.parser import text_string_to_metric_families

PERCENTILES: Final = (50, 95, 99)


@dataclass(frozen=True)
class ServiceTraffic:
    service: str
    exchanges: int
    faults: int
    latency_ms: Mapping[int, float | None]  # percentile -> milliseconds


@dataclass(frozen=True)
class Traffic:
    """What the traffic page draws for one security server."""

    minutes: list[str] = field(default_factory=list)  # "HH:MM" labels, oldest first
    per_minute: list[int] = field(default_factory=list)  # exchanges in each minute
    services: list[ServiceTraffic] = field(default_factory=list)
    since_start: bool = False  # figures are totals since the server started (from /metrics)


def percentile(sorted_values: Sequence[float], p: int) -> float | None:
    """Nearest-rank percentile of already sorted values (None for no values)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _service_name(record: Mapping[str, Any]) -> str:
    parts = [record.get(k) for k in ("serviceXRoadInstance", "serviceMemberClass",
                                     "serviceMemberCode", "serviceSubsystemCode",
                                     "serviceCode", "serviceVersion")]
    return "/".join(str(p) for p in parts if p)


def from_operational_data(records: Iterable[Mapping[str, Any]], now: datetime,
                          minutes: int = 60) -> Traffic:
    """Per-minute exchanges, latency percentiles and faults per service over `minutes`."""
    if now.tzinfo is None:
        raise ValueError("naive datetime")
    end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    start = end - timedelta(minutes=minutes)
    counts = [0] * minutes
    durations: dict[str, list[float]] = defaultdict(list)
    exchanges: dict[str, int] = defaultdict(int)
    faults: dict[str, int] = defaultdict(int)
    for record in records:
        try:
            at = datetime.fromisoformat(str(record["monitoringDataTs"]))
        except (KeyError, ValueError):
            continue
        if at.tzinfo is None or not start <= at < end:
            continue
        counts[int((at - start).total_seconds() // 60)] += 1
        service = _service_name(record)
        exchanges[service] += 1
        if not record.get("succeeded", False):
            faults[service] += 1
        duration = record.get("totalDuration")
        if isinstance(duration, int | float):
            durations[service].append(float(duration))
    labels = [(start + timedelta(minutes=i)).strftime("%H:%M") for i in range(minutes)]
    services = []
    for service in sorted(exchanges):
        ordered = sorted(durations[service])
        services.append(ServiceTraffic(service, exchanges[service], faults[service],
                                       {p: percentile(ordered, p) for p in PERCENTILES}))
    return Traffic(labels, counts, services)


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """Prometheus's estimate: linear interpolation within the bucket holding rank q * count.

    `buckets` are (upper bound, cumulative count), sorted, ending with +Inf."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for upper, count in buckets:
        if count >= rank:
            if math.isinf(upper):
                return lower  # beyond the largest finite bucket: its bound is all we know
            if count == below:
                return upper
            return lower + (upper - lower) * (rank - below) / (count - below)
        lower, below = upper, count
    return lower


def from_metrics(text: str) -> Traffic:
    """Totals, faults and estimated latency percentiles per service from `/metrics`."""
    exchanges: dict[str, float] = defaultdict(float)
    faults: dict[str, float] = defaultdict(float)
    buckets: dict[str, dict[float, float]] = defaultdict(lambda: defaultdict(float))
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            service = sample.labels.get("service")
            if service is None:
                continue
            if sample.name == "xroad_exchanges_total":
                exchanges[service] += sample.value
                if sample.labels.get("outcome") != "ok":
                    faults[service] += sample.value
            elif sample.name == "xroad_exchange_duration_seconds_bucket":
                buckets[service][float(sample.labels["le"])] += sample.value
    services = []
    for service in sorted(exchanges):
        ordered = sorted(buckets[service].items())
        services.append(ServiceTraffic(
            service, int(exchanges[service]), int(faults[service]),
            {p: _ms(histogram_quantile(p / 100, ordered)) for p in PERCENTILES}))
    return Traffic(services=services, since_start=True)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)
