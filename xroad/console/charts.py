"""Inline SVG charts for the console (pure: numbers in, markup out).

Rendered on the server so the pages need no chart library, no CDN and no script: a screen
reader gets the `<title>` and `<desc>` (which states the numbers), and every point or bar
carries its own `<title>` as a tooltip. All text passes through markupsafe's escaping, since
service codes and client ids come from the audit log, i.e. from other members.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup, escape

WIDTH: Final = 640
HEIGHT: Final = 240
_MARGIN_LEFT: Final = 56
_MARGIN_RIGHT: Final = 16
_MARGIN_TOP: Final = 16
_MARGIN_BOTTOM: Final = 40
# Colour-blind-safe (Okabe-Ito); a series is also told apart by its dash pattern.
PALETTE: Final = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9")
_DASHES: Final = ("", "6 3", "2 3", "8 3 2 3")


@dataclass(frozen=True, slots=True)
class Series:
    """One named line: y values at the chart's x positions (None: no value there)."""

    name: str
    values: Sequence[float | None]


def _chart_id(title: str, given: str | None) -> str:
    """Ids for aria-labelledby: stable (the same page renders the same markup); pass
    `chart_id` when one page shows two charts with the same title."""
    if given:
        return re.sub(r"[^A-Za-z0-9_-]", "-", given)
    return "chart-" + hashlib.sha256(title.encode()).hexdigest()[:10]


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above `value` (axis top)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return float(next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value))


def _number(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.3g}"


def _frame(chart_id: str, title: str, description: str, body: list[str]) -> Markup:
    # Every interpolated text went through escape(); numbers and ids are ours.
    return Markup(  # noqa: S704
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" aria-labelledby="{chart_id}-t {chart_id}-d">'
        f'<title id="{chart_id}-t">{escape(title)}</title>'
        f'<desc id="{chart_id}-d">{escape(description)}</desc>{"".join(body)}</svg>')


def _y_axis(top: float, unit: str) -> list[str]:
    plot_h = HEIGHT - _MARGIN_TOP - _MARGIN_BOTTOM
    parts = [f'<line class="axis" x1="{_MARGIN_LEFT}" y1="{_MARGIN_TOP}" x2="{_MARGIN_LEFT}" '
             f'y2="{HEIGHT - _MARGIN_BOTTOM}" stroke="#333"/>']
    for i in range(5):
        value = top * i / 4
        y = HEIGHT - _MARGIN_BOTTOM - plot_h * i / 4
        parts.append(f'<line class="grid" x1="{_MARGIN_LEFT}" y1="{y:.1f}" '
                     f'x2="{WIDTH - _MARGIN_RIGHT}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{_MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
                     f'font-size="11">{escape(_number(value))}</text>')
    parts.append(f'<text x="12" y="{_MARGIN_TOP + plot_h / 2:.1f}" font-size="11" '
                 f'text-anchor="middle" transform="rotate(-90 12 {_MARGIN_TOP + plot_h / 2:.1f})"'
                 f'>{escape(unit)}</text>')
    return parts


def _x_axis() -> str:
    y = HEIGHT - _MARGIN_BOTTOM
    return (f'<line class="axis" x1="{_MARGIN_LEFT}" y1="{y}" x2="{WIDTH - _MARGIN_RIGHT}" '
            f'y2="{y}" stroke="#333"/>')


def line_chart(title: str, x_labels: Sequence[str], series: Sequence[Series], *,
               unit: str, empty_text: str = "no data", chart_id: str | None = None) -> Markup:
    """Lines over shared x positions (e.g. minutes); x labels are thinned to about six."""
    chart_id = _chart_id(title, chart_id)
    values = [v for s in series for v in s.values if v is not None]
    if not x_labels or not values:
        return _frame(chart_id, title, empty_text, [
            f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">'
            f"{escape(empty_text)}</text>"])
    top = nice_ceiling(max(values))
    plot_w = WIDTH - _MARGIN_LEFT - _MARGIN_RIGHT
    plot_h = HEIGHT - _MARGIN_TOP - _MARGIN_BOTTOM
    step = plot_w / max(1, len(x_labels) - 1)
    body = [*_y_axis(top, unit), _x_axis()]
    every = max(1, math.ceil(len(x_labels) / 6))
    for i, label in enumerate(x_labels):
        if i % every == 0 or i == len(x_labels) - 1:
            x = _MARGIN_LEFT + i * step
            body.append(f'<text x="{x:.1f}" y="{HEIGHT - _MARGIN_BOTTOM + 16}" '
                        f'text-anchor="middle" font-size="11">{escape(label)}</text>')
    summary = []
    for n, s in enumerate(series):
        colour, dash = PALETTE[n % len(PALETTE)], _DASHES[n % len(_DASHES)]
        points = [(i, v) for i, v in enumerate(s.values) if v is not None]
        coords = " ".join(f"{_MARGIN_LEFT + i * step:.1f},"
                          f"{HEIGHT - _MARGIN_BOTTOM - plot_h * v / top:.1f}" for i, v in points)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        body.append(f'<g class="series"><title>{escape(s.name)}</title>'
                    f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash_attr} '
                    f'points="{coords}"/>')
        body.extend(f'<circle cx="{_MARGIN_LEFT + i * step:.1f}" '
                    f'cy="{HEIGHT - _MARGIN_BOTTOM - plot_h * v / top:.1f}" r="2.5" '
                    f'fill="{colour}"><title>{escape(s.name)}, {escape(x_labels[i])}: '
                    f"{escape(_number(v))} {escape(unit)}</title></circle>" for i, v in points)
        body.append("</g>")
        peak = max(v for _, v in points) if points else 0
        summary.append(f"{s.name}: peak {_number(peak)} {unit}")
    body.append(_legend([s.name for s in series]))
    description = (f"{title}, {x_labels[0]} to {x_labels[-1]}. " + "; ".join(summary))
    return _frame(chart_id, title, description, body)


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float], *, unit: str,
              empty_text: str = "no data", chart_id: str | None = None) -> Markup:
    """Horizontal-label vertical bars, one per label (e.g. faults per service)."""
    chart_id = _chart_id(title, chart_id)
    if not labels:
        return _frame(chart_id, title, empty_text, [
            f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">'
            f"{escape(empty_text)}</text>"])
    if len(labels) != len(values):
        raise ValueError("one value per label")
    top = nice_ceiling(max(values))
    plot_w = WIDTH - _MARGIN_LEFT - _MARGIN_RIGHT
    plot_h = HEIGHT - _MARGIN_TOP - _MARGIN_BOTTOM
    slot = plot_w / len(labels)
    body = [*_y_axis(top, unit), _x_axis()]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        height = plot_h * value / top
        x = _MARGIN_LEFT + i * slot + slot * 0.15
        short = label if len(label) <= 24 else "…" + label[-23:]
        body.append(f'<rect x="{x:.1f}" y="{HEIGHT - _MARGIN_BOTTOM - height:.1f}" '
                    f'width="{slot * 0.7:.1f}" height="{height:.1f}" '
                    f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(label)}: '
                    f"{escape(_number(value))} {escape(unit)}</title></rect>"
                    f'<text x="{x + slot * 0.35:.1f}" y="{HEIGHT - _MARGIN_BOTTOM + 16}" '
                    f'text-anchor="middle" font-size="10">{escape(short)}</text>')
    description = f"{title}: " + "; ".join(
        f"{label} {_number(value)} {unit}" for label, value in zip(labels, values, strict=True))
    return _frame(chart_id, title, description, body)


def grouped_bar_chart(title: str, labels: Sequence[str], series: Sequence[Series], *,
                      unit: str, empty_text: str = "no data",
                      chart_id: str | None = None) -> Markup:
    """One group of bars per label, one bar per series (e.g. p50, p95, p99 per service)."""
    chart_id = _chart_id(title, chart_id)
    values = [v for s in series for v in s.values if v is not None]
    if not labels or not values:
        return _frame(chart_id, title, empty_text, [
            f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">'
            f"{escape(empty_text)}</text>"])
    if any(len(s.values) != len(labels) for s in series):
        raise ValueError("one value per label in every series")
    top = nice_ceiling(max(values))
    plot_w = WIDTH - _MARGIN_LEFT - _MARGIN_RIGHT
    slot = plot_w / len(labels)
    bar = slot * 0.8 / len(series)
    body = [*_y_axis(top, unit), _x_axis()]
    facts = []
    for i, label in enumerate(labels):
        short = label if len(label) <= 28 else "…" + label[-27:]
        body.append(f'<text x="{_MARGIN_LEFT + i * slot + slot / 2:.1f}" '
                    f'y="{HEIGHT - _MARGIN_BOTTOM + 16}" text-anchor="middle" font-size="10">'
                    f"{escape(short)}</text>")
        for n, s in enumerate(series):
            value = s.values[i]
            if value is None:
                continue
            height = (HEIGHT - _MARGIN_TOP - _MARGIN_BOTTOM) * value / top
            x = _MARGIN_LEFT + i * slot + slot * 0.1 + n * bar
            body.append(f'<rect x="{x:.1f}" y="{HEIGHT - _MARGIN_BOTTOM - height:.1f}" '
                        f'width="{bar:.1f}" height="{height:.1f}" '
                        f'fill="{PALETTE[n % len(PALETTE)]}"><title>{escape(label)}, '
                        f"{escape(s.name)}: {escape(_number(value))} {escape(unit)}"
                        "</title></rect>")
            facts.append(f"{label} {s.name} {_number(value)} {unit}")
    body.append(_legend([s.name for s in series], swatch=True))
    return _frame(chart_id, title, f"{title}: " + "; ".join(facts), body)


def _legend(names: Sequence[str], *, swatch: bool = False) -> str:
    parts = []
    for n, name in enumerate(names):
        x = _MARGIN_LEFT + 8 + n * 150
        colour, dash = PALETTE[n % len(PALETTE)], _DASHES[n % len(_DASHES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        if swatch:
            parts.append(f'<rect x="{x}" y="{HEIGHT - 14}" width="12" height="10" '
                         f'fill="{colour}"/><text x="{x + 16}" y="{HEIGHT - 5}" '
                         f'font-size="11">{escape(name)}</text>')
            continue
        parts.append(f'<line x1="{x}" y1="{HEIGHT - 8}" x2="{x + 18}" y2="{HEIGHT - 8}" '
                     f'stroke="{colour}" stroke-width="2"{dash_attr}/>'
                     f'<text x="{x + 22}" y="{HEIGHT - 4}" font-size="11">{escape(name)}</text>')
    return "".join(parts)
