"""`GET /metrics` on the security server's admin API: operational monitoring for Prometheus.

Behind the admin API's keys like every other read (observer role or higher); Prometheus
sends the key with `authorization: {type: X-Road-ApiKey, credentials: token=...}`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from aiohttp import web

from xroad.proxy.monitoring import Monitor

if TYPE_CHECKING:
    from xroad.proxy.admin_app import Handler


class Guard(Protocol):
    """The admin app's API-key check around a handler."""

    def __call__(self, handler: Handler, *,
                 write: bool) -> Callable[[web.Request], Awaitable[web.Response]]: ...


def add_metrics_routes(app: web.Application, monitor: Monitor, guarded: Guard) -> None:
    async def metrics(request: web.Request, _: object) -> web.Response:
        # A worker thread: scrape-time gauges may query the audit database.
        body, content_type = await asyncio.to_thread(monitor.render,
                                                     request.headers.get("Accept", ""))
        return web.Response(body=body, headers={"Content-Type": content_type})

    app.router.add_get("/metrics", guarded(metrics, write=False))
