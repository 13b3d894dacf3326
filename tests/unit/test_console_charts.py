"""Inline SVG charts: well-formed, accessible (title, desc stating the numbers), escaped, and
drawn to scale; plus the traffic figures they are drawn from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

import pytest

from xroad.console.charts import Series, bar_chart, line_chart, nice_ceiling
from xroad.console.opmon import from_operational_data, percentile

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # noqa: S314 - our own output


def test_a_line_chart_is_an_accessible_svg_with_axes_and_points() -> None:
    chart = line_chart("Exchanges per minute", ["10:00", "10:01", "10:02"],
                       [Series("exchanges", [1, 4, None])], unit="per minute")
    svg = parse(chart)
    assert svg.get("role") == "img"
    title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
    assert title is not None
    assert title.text == "Exchanges per minute"
    assert desc is not None
    assert "10:00 to 10:02" in (desc.text or "")
    assert "peak 4 per minute" in (desc.text or "")
    assert svg.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    points = svg.findall(f".//{SVG}circle")
    assert len(points) == 2  # None is a gap, not a zero
    # The axis top is 5 (nice ceiling of 4): y of 4 is 4/5 of the plot height up.
    ys = [float(p.get("cy", "0")) for p in points]
    assert ys[0] > ys[1]
    labels = [t.text for t in svg.iter(f"{SVG}text")]
    assert "10:00" in labels
    assert "5" in labels


def test_text_from_the_audit_log_is_escaped() -> None:
    hostile = '<script>alert("x")</script>&'
    chart = bar_chart("Faults", [hostile], [3], unit="faults")
    assert "<script>" not in chart
    svg = parse(chart)  # still well-formed
    assert any(hostile in (t.text or "") for t in svg.iter(f"{SVG}title"))


def test_bars_are_to_scale_and_empty_charts_say_so() -> None:
    svg = parse(bar_chart("Faults per service", ["a", "b"], [10, 5], unit="faults"))
    heights = [float(r.get("height", "0")) for r in svg.iter(f"{SVG}rect")]
    assert heights[0] == pytest.approx(2 * heights[1])
    empty = parse(line_chart("Latency", [], [], unit="ms", empty_text="No exchanges"))
    assert [t.text for t in empty.iter(f"{SVG}text")] == ["No exchanges"]
    with pytest.raises(ValueError, match="one value per label"):
        bar_chart("x", ["a"], [1, 2], unit="u")


@pytest.mark.parametrize(("value", "top"), [(0, 1), (1, 1), (4, 5), (7, 10), (12, 20),
                                            (0.03, 0.05), (2400, 2500)])
def test_axis_tops_are_round_numbers(value: float, top: float) -> None:
    assert nice_ceiling(value) == pytest.approx(top)


# -- the figures --------------------------------------------------------------------------

NOW = datetime(2026, 11, 25, 10, 30, 20, tzinfo=UTC)


def opmon(at: datetime, ms: int, *, ok: bool = True, code: str = "getPerson") -> dict:
    return {"monitoringDataTs": at.isoformat(), "totalDuration": ms, "succeeded": ok,
            "serviceXRoadInstance": "MN", "serviceMemberClass": "GOV",
            "serviceMemberCode": "GASR", "serviceSubsystemCode": "civil-registry",
            "serviceCode": code, "serviceVersion": None}


def test_operational_data_gives_minutes_percentiles_and_faults() -> None:
    records = [opmon(NOW - timedelta(seconds=5), ms) for ms in range(1, 101)]
    records.append(opmon(NOW - timedelta(minutes=3), 500, ok=False))
    records.append(opmon(NOW - timedelta(hours=2), 1))  # outside the hour
    traffic = from_operational_data(records, NOW)
    assert len(traffic.minutes) == len(traffic.per_minute) == 60
    assert traffic.minutes[-1] == "10:30"
    assert traffic.per_minute[-1] == 100
    assert traffic.per_minute[-4] == 1
    assert sum(traffic.per_minute) == 101
    (service,) = traffic.services
    assert service.service == "MN/GOV/GASR/civil-registry/getPerson"
    assert (service.exchanges, service.faults) == (101, 1)
    assert service.latency_ms == {50: 51, 95: 96, 99: 100}


def test_percentiles() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 99) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
