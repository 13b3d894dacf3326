"""Traffic of each security server over the last hour: exchanges per minute, latency
percentiles and faults per service, as inline SVG charts.

Every watcher reads the servers' operational data (one record per exchange: exact per-minute
counts and percentiles): auditors with their key, operators and administrators with the
observer key, which the servers answer without user ids and purposes (see `opmon`).
"""

# No `from __future__ import annotations`: FastAPI reads the dependencies' annotations.

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from xroad.console.charts import Series, bar_chart, grouped_bar_chart, line_chart
from xroad.console.opmon import PERCENTILES, Traffic, from_operational_data
from xroad.console.server_pages import server_client
from xroad.console.servers import ServerApiError
from xroad.console.web import ConsoleUser, Role, console, language, render, require

router = APIRouter()

Watcher = Annotated[ConsoleUser, Depends(require(Role.AUDITOR, Role.SECURITY_SERVER_OPERATOR,
                                                 Role.ADMINISTRATOR))]
WINDOW_MIN: Final = 60
MAX_PAGES: Final = 20  # 20 000 exchanges an hour per server are shown; more are cut off


@dataclass(frozen=True)
class ServerTraffic:
    server_id: str
    traffic: Traffic | None
    error: str | None
    charts: tuple[tuple[str, Markup], ...] = ()


async def _operational(api: Any, now: datetime) -> Traffic:
    since = (now - timedelta(minutes=WINDOW_MIN)).isoformat()
    records: list[dict[str, Any]] = []
    after = None
    for _ in range(MAX_PAGES):
        page = await api.operational_data({"since": since}, after=after)
        records.extend(page.items)
        if page.next_after is None:
            break
        after = page.next_after
    return from_operational_data(records, now, WINDOW_MIN)


def _charts(traffic: Traffic, server_id: str, t: Any) -> tuple[tuple[str, Markup], ...]:
    """(visible caption, SVG) of each chart; the SVG carries the same title for assistive
    technology, and a description stating the numbers."""
    services = [s.service for s in traffic.services]
    short = [s.rsplit("/", 2)[-2] + "/" + s.rsplit("/", 1)[-1] if s.count("/") >= 2 else s
             for s in services]
    empty = t("traffic.empty")
    title = t("traffic.per_minute", server=server_id)
    charts = [(title, line_chart(
        title, traffic.minutes, [Series(t("traffic.exchanges"), traffic.per_minute)],
        unit=t("traffic.per_minute_unit"), empty_text=empty, chart_id=f"pm-{server_id}"))]
    title = t("traffic.latency", server=server_id)
    charts.append((title, grouped_bar_chart(
        title, short,
        [Series(f"p{p}", [s.latency_ms[p] for s in traffic.services]) for p in PERCENTILES],
        unit="ms", empty_text=empty, chart_id=f"lat-{server_id}")))
    title = t("traffic.faults", server=server_id)
    charts.append((title, bar_chart(title, short, [s.faults for s in traffic.services],
                                    unit=t("traffic.faults_unit"), empty_text=empty,
                                    chart_id=f"f-{server_id}")))
    return tuple(charts)


@router.get("/traffic", response_class=HTMLResponse)
async def traffic_page(request: Request, user: Watcher) -> Response:
    ctx = console(request)
    now = ctx.clock.now()
    t = partial(ctx.translations.text, language(request))

    async def one(link: Any) -> ServerTraffic:
        try:
            traffic = await _operational(server_client(ctx, link, "traffic", user.role), now)
        except ServerApiError as e:
            return ServerTraffic(link.id, None, str(e))
        return ServerTraffic(link.id, traffic, None, _charts(traffic, link.id, t))

    servers = await asyncio.gather(*(one(s) for s in ctx.servers))
    return render(request, "traffic/view.html", {
        "servers": servers, "percentiles": PERCENTILES, "window": WINDOW_MIN})
