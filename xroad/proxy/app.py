"""HTTP edge of a security server: the client-facing listener and the mutual-TLS listener."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from xroad import errors
from xroad.limits import Limits
from xroad.proxy.client_proxy import ClientProxy
from xroad.proxy.exchange import HttpRequest, HttpResponse
from xroad.proxy.server_proxy import ServerProxy

_CHUNK = 64 * 1024


# Peer security servers pool connections for 15 s (aiohttp's default): closing an idle one
# sooner would race with its reuse and fail exchanges with NetworkError.
_PEER_KEEPALIVE_S = 30.0


def connection_limits(limits: Limits, *, between_servers: bool = False) -> dict[str, Any]:
    """aiohttp server options that bound how long a connection may wait for its sender.

    aiohttp's keep-alive timer runs from the moment a connection opens and closes it when no
    complete request head has arrived by then: with its default of an hour, a client dribbling
    header bytes (slowloris) would hold a connection that long. An unread rest of a body is
    drained for at most `lingering_time` before the connection closes. Between security
    servers only peers that passed mutual TLS get that far, and they pool connections.
    """
    wait = max(limits.read_timeout_s, _PEER_KEEPALIVE_S) if between_servers else (
        limits.read_timeout_s)
    return {"keepalive_timeout": wait, "lingering_time": min(10.0, limits.read_timeout_s)}


async def _chunks(request: web.Request, idle_s: float) -> AsyncIterator[bytes]:
    """The body as it arrives; a sender silent for `idle_s` is a `TransportError`, so a body
    that never finishes cannot hold a handler (and its connection) forever."""
    while True:
        try:
            async with asyncio.timeout(idle_s):
                chunk = await request.content.readany()
        except TimeoutError as e:
            raise errors.TransportError(f"request body stalled for {idle_s:g} s") from e
        if not chunk:
            return
        yield chunk


async def _read_body(request: web.Request, limits: Limits) -> bytes | None:
    """The body, or None when it exceeds the limit (read no further than that)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in _chunks(request, limits.read_timeout_s):
        size += len(chunk)
        if size > limits.max_body_bytes:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _to_web(response: HttpResponse) -> web.Response:
    out = web.Response(status=response.status, body=response.body)
    _set_headers(out, response)
    return out


def _set_headers(out: web.StreamResponse, response: HttpResponse) -> None:
    out.headers["Server"] = "X-Road"  # not aiohttp's name and version
    for name, value in response.headers:
        out.headers.add(name, value)


# Bodies above this are written in pieces of this size, each once the previous has drained.
# Handed to a TLS transport in one write, a body of several MiB grows the connection's
# OpenSSL buffer to its size, and the buffer keeps that size for the connection's life:
# with hundreds of pooled connections between security servers that was over a GB (bench).
_WRITE_PIECE = 256 * 1024


async def _send(request: web.Request, response: HttpResponse) -> web.StreamResponse:
    if len(response.body) <= _WRITE_PIECE:
        return _to_web(response)
    out = web.StreamResponse(status=response.status)
    _set_headers(out, response)
    out.content_length = len(response.body)
    await out.prepare(request)
    body = memoryview(response.body)
    for start in range(0, len(body), _WRITE_PIECE):
        await out.write(body[start:start + _WRITE_PIECE])
        await out.drain()
    await out.write_eof()
    return out


def create_client_app(proxy: ClientProxy, limits: Limits) -> web.Application:
    """Where information systems send SOAP (`POST /`) and REST (`/r1/...`) requests."""

    async def adapt(request: web.Request, *, soap_faults: bool) -> web.StreamResponse:
        path, _, query = request.raw_path.partition("?")
        headers = tuple(request.headers.items())
        try:
            body = await _read_body(request, limits)
        except errors.TransportError as e:  # the client stopped sending: answer, then close
            stalled = HttpRequest(request.method, path, query, headers, b"")
            response = _to_web(proxy.refuse(stalled, errors.InvalidMessage(str(e)),
                                            soap_faults=soap_faults))
            response.force_close()
            return response
        incoming = HttpRequest(request.method, path, query, headers, body)
        handler = proxy.soap if soap_faults else proxy.rest
        return await _send(request, await handler(incoming))

    async def rest(request: web.Request) -> web.StreamResponse:
        return await adapt(request, soap_faults=False)

    async def soap(request: web.Request) -> web.StreamResponse:
        return await adapt(request, soap_faults=True)

    async def health(_: web.Request) -> web.Response:
        return web.json_response(proxy.health())

    async def list_clients(request: web.Request) -> web.Response:
        path, _, query = request.raw_path.partition("?")
        return _to_web(await proxy.list_clients(
            HttpRequest("GET", path, query, tuple(request.headers.items()), b"")))

    app = web.Application(client_max_size=limits.max_body_bytes + _CHUNK)
    app.router.add_route("*", "/r1/{tail:.*}", rest)
    app.router.add_post("/", soap)
    app.router.add_get("/health", health)
    app.router.add_get("/listClients", list_clients)
    return app


def create_server_app(proxy: ServerProxy, limits: Limits) -> web.Application:
    """The mutual-TLS endpoint other security servers send signed messages to."""

    async def receive(request: web.Request) -> web.StreamResponse:
        ssl_object = request.transport.get_extra_info("ssl_object") if request.transport else None
        peer = ssl_object.getpeercert(binary_form=True) if isinstance(
            ssl_object, ssl.SSLObject) else None
        headers = {k.lower(): v for k, v in request.headers.items()}
        # The encrypted body is decrypted as it arrives; only the plaintext is kept.
        return await _send(request, await proxy.handle(peer, headers,
                                                       _chunks(request, limits.read_timeout_s)))

    app = web.Application(client_max_size=limits.max_body_bytes + _CHUNK)
    app.router.add_post("/", receive)
    return app
