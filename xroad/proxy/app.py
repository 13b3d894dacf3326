"""HTTP edge of a security server: the client-facing listener and the mutual-TLS listener."""

from __future__ import annotations

import ssl

from aiohttp import web

from xroad.limits import Limits
from xroad.proxy.client_proxy import ClientProxy
from xroad.proxy.exchange import HttpRequest, HttpResponse
from xroad.proxy.server_proxy import ServerProxy

_CHUNK = 64 * 1024


async def _read_body(request: web.Request, limit: int) -> bytes | None:
    """The body, or None when it exceeds `limit` (read no further than that)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _to_web(response: HttpResponse) -> web.Response:
    out = web.Response(status=response.status, body=response.body)
    out.headers["Server"] = "X-Road"  # not aiohttp's name and version
    for name, value in response.headers:
        out.headers.add(name, value)
    return out


def create_client_app(proxy: ClientProxy, limits: Limits) -> web.Application:
    """Where information systems send SOAP (`POST /`) and REST (`/r1/...`) requests."""

    async def adapt(request: web.Request, *, soap_faults: bool) -> web.Response:
        body = await _read_body(request, limits.max_body_bytes)
        path, _, query = request.raw_path.partition("?")
        incoming = HttpRequest(request.method, path, query, tuple(request.headers.items()), body)
        handler = proxy.soap if soap_faults else proxy.rest
        return _to_web(await handler(incoming))

    async def rest(request: web.Request) -> web.Response:
        return await adapt(request, soap_faults=False)

    async def soap(request: web.Request) -> web.Response:
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

    async def receive(request: web.Request) -> web.Response:
        ssl_object = request.transport.get_extra_info("ssl_object") if request.transport else None
        peer = ssl_object.getpeercert(binary_form=True) if isinstance(
            ssl_object, ssl.SSLObject) else None
        headers = {k.lower(): v for k, v in request.headers.items()}
        # The encrypted body is decrypted as it arrives; only the plaintext is kept.
        return _to_web(await proxy.handle(peer, headers, request.content.iter_chunked(_CHUNK)))

    app = web.Application(client_max_size=limits.max_body_bytes + _CHUNK)
    app.router.add_post("/", receive)
    return app
