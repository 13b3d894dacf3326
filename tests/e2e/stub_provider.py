"""A provider information system in the test process, registered on the running provider
security server for the length of a test module."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from aiohttp import web

from tests.e2e.demo import RunningDemo

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@contextmanager
def serve(route: str, handler: Handler) -> Iterator[str]:
    """Serve `handler` on `route` (any method) on a free loopback port; yield the base URL."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    port: list[int] = []

    async def start() -> None:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", route, handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port.append(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        ready.set()

    threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()),
                     daemon=True).start()
    if not ready.wait(10):
        raise RuntimeError("the stub provider did not start")
    try:
        yield f"http://127.0.0.1:{port[0]}"
    finally:
        loop.call_soon_threadsafe(loop.stop)


@contextmanager
def registered(demo: RunningDemo, server_id: str, toml: str) -> Iterator[None]:
    """Append `toml` (services, access rights) to the server's serverconf while in use."""
    path = demo.server_dir(server_id) / "serverconf.toml"
    original = path.read_text()
    path.write_text(original + "\n" + toml)
    time.sleep(1.5)  # the security server re-reads serverconf within a second
    try:
        yield
    finally:
        path.write_text(original)
