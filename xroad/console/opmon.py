"""Traffic figures for the console from the security servers' operational data (pure).

Operational data (X-Road field names, one record per exchange with its time, duration and
fault code) gives exchanges per minute and exact latency percentiles over the last hour.
Auditors read it with their key; operators and administrators with the observer key, which
the security server answers without the user id and purpose of each exchange.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

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
