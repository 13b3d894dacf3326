"""The portal's side of the bus: X-Road REST r1 requests to its own security server.

The portal never talks to a registry directly: it sends `GET /r1/{serviceId}/...` to the
consumer security server's client URL, which signs, logs and forwards. One pooled, keep-alive
`httpx.AsyncClient` serves every request, so a profile's four calls reuse connections instead
of paying a TCP handshake each. Every call carries a fresh `X-Road-Id` (the message id both
audit logs record) and the stated purpose (`X-Road-Issue`); the security server answers with
`X-Road-Request-Id`, the id auditors search by.
"""

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import httpx

from xroad.identifiers import ClientId, ServiceId, encode_path_segments

_MAX_CONNECTIONS: Final = 50
_KEEPALIVE_S: Final = 30.0


class BusError(Exception):
    """A call got no answer from the bus at all; the message says why, for people."""


class BusTimeout(BusError):
    """No complete answer within the call's timeout."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(f"no answer within {timeout_s:g} s")
        self.timeout_s = timeout_s


class BusUnreachable(BusError):
    """The security server could not be reached (refused, reset, name not resolved)."""


@dataclass(frozen=True, slots=True)
class BusReply:
    """What the security server answered: the provider's answer or an X-Road fault."""

    status: int
    body: bytes
    content_type: str
    request_id: str | None  # X-Road-Request-Id; absent on most faults
    fault_code: str | None  # X-Road-Error: set only when the bus itself refused


@dataclass(frozen=True, slots=True)
class BusRequest:
    """One REST r1 GET: the service, the path below it, its query, and who asks why."""

    service: ServiceId
    path: str = ""  # already percent-encoded, e.g. "/%D0%A3%D0%9199112233"
    query: Mapping[str, str] | None = None
    message_id: str = ""  # "" -> a fresh UUID
    purpose: str | None = None
    user_id: str | None = None


def r1_path(service: ServiceId) -> str:
    """`/r1/INSTANCE/CLASS/MEMBER/SUBSYSTEM/CODE[/VERSION]`, each segment percent-encoded."""
    return "/r1/" + encode_path_segments(str(service).split("/"))


def new_message_id() -> str:
    return str(uuid.uuid4())


class Bus:
    """REST r1 client of one security server, on behalf of one client subsystem."""

    def __init__(self, security_server_url: str, client: ClientId,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._client_id = client
        self._http = httpx.AsyncClient(
            base_url=security_server_url, transport=transport, follow_redirects=False,
            limits=httpx.Limits(max_connections=_MAX_CONNECTIONS,
                                max_keepalive_connections=_MAX_CONNECTIONS,
                                keepalive_expiry=_KEEPALIVE_S),
            # The caller bounds each call as a whole (`timeout_s`); these only catch a
            # security server that stops reading or writing.
            timeout=httpx.Timeout(120.0))

    async def get(self, request: BusRequest, timeout_s: float) -> BusReply:
        """Send `request`; `BusTimeout` if no complete answer within `timeout_s` seconds."""
        headers = {"X-Road-Client": str(self._client_id),
                   "X-Road-Id": request.message_id or new_message_id(),
                   "Accept": "application/json"}
        if request.purpose:
            headers["X-Road-Issue"] = request.purpose
        if request.user_id:
            headers["X-Road-UserId"] = request.user_id
        url = r1_path(request.service) + request.path
        try:
            async with asyncio.timeout(timeout_s):
                reply = await self._http.get(url, params=dict(request.query or {}),
                                             headers=headers)
        except TimeoutError as e:
            raise BusTimeout(timeout_s) from e
        except httpx.TimeoutException as e:
            raise BusTimeout(timeout_s) from e
        except httpx.HTTPError as e:
            raise BusUnreachable(f"security server not reachable ({type(e).__name__})") from e
        return BusReply(reply.status_code, reply.content,
                        reply.headers.get("content-type", ""),
                        reply.headers.get("x-road-request-id"),
                        reply.headers.get("x-road-error"))

    async def aclose(self) -> None:
        await self._http.aclose()
