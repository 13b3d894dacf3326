"""`python -m bench.blob --port P`: a payload provider for the benchmark's payload-size runs.

`GET /blob/{size}` answers `size` deterministic bytes and `POST /echo` answers the body it got,
both as application/octet-stream, so the load generator can check every byte of an answer
without the provider doing more than copying memory: what is measured is the bus, not this
process. Sizes are limited to `MAX_SIZE` (a bench tool, not a file server); bad input gets a
4xx JSON answer. With `--port 0` the kernel picks the port; the first line on stdout says which:
`bench.blob listening on http://127.0.0.1:PORT`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import signal
import sys
from functools import lru_cache

from aiohttp import web

MAX_SIZE = 16 * 1024 * 1024
_SEED = b"xroad bench payload"
READY_PREFIX = "bench.blob listening on "


@lru_cache(maxsize=8)
def blob_bytes(size: int) -> bytes:
    """`size` bytes that depend only on `size` (and are a prefix of every longer blob).

    SHAKE-256 output looks random, so nothing on the way can make the payload smaller than it
    is, and both sides compute it without sharing state.
    """
    if not 0 <= size <= MAX_SIZE:
        raise ValueError(f"size must be between 0 and {MAX_SIZE} bytes, not {size}")
    return hashlib.shake_256(_SEED).digest(size)


def _problem(status: int, kind: str, detail: str) -> web.Response:
    return web.Response(status=status, content_type="application/json",
                        text=json.dumps({"type": kind, "detail": detail}))


async def get_blob(request: web.Request) -> web.Response:
    raw = request.match_info["size"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        return _problem(400, "InvalidSize", f"size must be a number of bytes, not {raw[:40]!r}")
    size = int(raw)
    if size > MAX_SIZE:
        return _problem(400, "InvalidSize", f"size must be at most {MAX_SIZE} bytes")
    return web.Response(body=blob_bytes(size), content_type="application/octet-stream")


async def echo(request: web.Request) -> web.Response:
    if request.content_length is not None and request.content_length > MAX_SIZE:
        return _problem(413, "TooLarge", f"the body must be at most {MAX_SIZE} bytes")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _problem(413, "TooLarge", f"the body must be at most {MAX_SIZE} bytes")
    return web.Response(body=body, content_type="application/octet-stream")


def make_app() -> web.Application:
    app = web.Application(client_max_size=MAX_SIZE)
    app.router.add_get("/blob/{size}", get_blob)
    app.router.add_post("/echo", echo)
    return app


async def serve(host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM; print the address once listening."""
    runner = web.AppRunner(make_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    print(f"{READY_PREFIX}http://{host}:{bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.blob", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (the default)")
    args = parser.parse_args(argv)
    try:
        import uvloop  # noqa: PLC0415 - optional, as in bench.load
    except ImportError:
        asyncio.run(serve(args.host, args.port))
    else:
        uvloop.run(serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
