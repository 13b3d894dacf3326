"""HTTP clients of a security server: to peer security servers (mTLS) and to provider systems.

aiohttp is used because it exposes the peer certificate and measured about 4x httpx's
throughput between servers on this machine class (see docs/adr/0002).
"""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from yarl import URL

from xroad.errors import ServiceFailed, SslAuthenticationFailed, TransportError


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


T = TypeVar("T")
Receiver = Callable[[int, Mapping[str, str], AsyncIterator[bytes]], Awaitable[T]]


async def _produce(pieces: Iterable[bytes]) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


class _PinningConnector(aiohttp.TCPConnector):
    """Checks, right after each TLS handshake, that the peer's authentication certificate is
    one global configuration registers for the server at that address.

    aiohttp releases a connection as soon as a short response is read, so the certificate
    cannot be looked up afterwards; the check has to sit where the connection is made. It
    overrides aiohttp's `_wrap_create_connection` hook (the one its own `Fingerprint` pinning
    relies on); the end-to-end tests fail if a new aiohttp changes it.
    """

    def __init__(self, ssl_context: ssl.SSLContext) -> None:
        super().__init__(ssl=ssl_context, limit=256, keepalive_timeout=30)
        self.registered: dict[tuple[str, int], frozenset[str]] = {}

    async def _wrap_create_connection(self, *args: Any, **kwargs: Any) -> Any:
        transport, protocol = await super()._wrap_create_connection(*args, **kwargs)
        url = kwargs["req"].url
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        got = hashlib.sha256(der).hexdigest() if der else ""
        allowed = self.registered.get((url.host, url.port), frozenset())
        if got not in allowed:
            transport.close()
            raise aiohttp.ServerFingerprintMismatch(
                ",".join(sorted(allowed)).encode(), got.encode(), url.host, url.port)
        return transport, protocol


class PeerClient:
    """POSTs signed messages to other security servers over mutual TLS, with pooled connections."""

    def __init__(self, ssl_context: ssl.SSLContext, connect_timeout_s: float) -> None:
        self._connector: _PinningConnector | None = None
        self._ssl = ssl_context
        self._connect_timeout = connect_timeout_s
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> tuple[aiohttp.ClientSession, _PinningConnector]:
        if self._session is None or self._connector is None:
            self._connector = _PinningConnector(self._ssl)
            self._session = aiohttp.ClientSession(connector=self._connector,
                                                  auto_decompress=False)
        return self._session, self._connector

    async def post(self, url: str, registered_certs: frozenset[str], headers: Mapping[str, str],
                   body: Iterable[bytes], timeout_s: float, receive: Receiver[T]) -> T:
        """POST to the peer at `url`, whose certificate hash must be in `registered_certs`, and
        hand the answer's status, headers and body stream to `receive`.

        `body` is sent as it is produced (chunked) and the answer is consumed as it arrives,
        so an encrypted message is never held whole in either direction.
        """
        timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=self._connect_timeout)
        session, connector = self._client()
        target = URL(url)
        connector.registered[(target.host or "", target.port or 443)] = registered_certs
        try:
            async with session.post(url, data=_produce(body), headers=dict(headers),
                                    timeout=timeout,
                                    allow_redirects=False) as response:
                answer_headers = {k.lower(): v for k, v in response.headers.items()}
                return await receive(response.status, answer_headers,
                                     response.content.iter_chunked(64 * 1024))
        except aiohttp.ServerFingerprintMismatch as e:
            raise SslAuthenticationFailed(
                f"{url} presented an authentication certificate not registered for it") from e
        except (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError) as e:
            raise SslAuthenticationFailed(f"TLS with {url} failed: {type(e).__name__}") from e
        except TimeoutError as e:
            raise TransportError(f"{url}: no answer in time") from e
        except aiohttp.ServerDisconnectedError as e:
            # With TLS 1.3 a peer that does not accept our authentication certificate can only
            # close the connection after the handshake: say what it most likely means.
            raise TransportError(f"{url}: the peer closed the connection without answering "
                                 "(does it trust this server's authentication certificate?)"
                                 ) from e
        except aiohttp.ClientError as e:
            raise TransportError(f"{url}: {type(e).__name__}") from e

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


_SERVICE_IDLE_S = 4.0


class ServiceClient:
    """Calls provider information systems (registry adapters) with pooled connections."""

    def __init__(self, connect_timeout_s: float) -> None:
        self._connect_timeout = connect_timeout_s
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            # Idle connections are dropped before common servers drop them (uvicorn, Node and
            # Apache close after 5 s): reusing one the registry is closing at that moment fails
            # the request (seen under load as ClientOSError at c=256).
            connector = aiohttp.TCPConnector(limit=256, keepalive_timeout=_SERVICE_IDLE_S)
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        return self._session

    async def request(self, method: str, url: str, headers: Sequence[tuple[str, str]],
                      body: bytes, timeout_s: float, max_bytes: int) -> Reply:
        timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=self._connect_timeout)
        try:
            # encoded=True: the path and query go to the provider exactly as the client wrote
            # them (yarl would otherwise re-quote, e.g. turn %2F in a query into /).
            async with self._client().request(
                    method, URL(url, encoded=True), data=body or None, headers=list(headers),
                    timeout=timeout, allow_redirects=False,
                    skip_auto_headers=("User-Agent",)) as response:
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.content.iter_chunked(64 * 1024):
                    size += len(chunk)
                    if size > max_bytes:
                        raise ServiceFailed(f"response of {url} exceeds {max_bytes} bytes")
                    chunks.append(chunk)
                return Reply(response.status, tuple(response.headers.items()), b"".join(chunks))
        except TimeoutError as e:
            raise ServiceFailed(f"service at {url} did not answer in time") from e
        except aiohttp.ClientError as e:
            raise ServiceFailed(f"service at {url} is unreachable: {type(e).__name__}") from e

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
