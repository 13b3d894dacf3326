"""Payload-size requests for the load generator, and the check of their answers (pure).

A payload case is a method and a size: `GET` fetches `size` bytes from `bench.blob`
(response-side payload), `POST` sends `size` bytes to its echo and gets them back (both
sides). Each case is measured directly against `bench.blob` and as REST through the bus, where
`bench.blob` is registered as the service `SERVICE_CODE` of the civil registry subsystem for
the length of the payload runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import aiohttp

from bench.blob import blob_bytes

PayloadMethod = Literal["GET", "POST"]
SERVICE_PROVIDER = "MN/GOV/GASR/civil-registry"  # the subsystem offering SERVICE_CODE
PORTAL = "MN/GOV/EMONGOLIA/portal"
SERVICE_CODE = "payload"
REST_PREFIX = f"/r1/{SERVICE_PROVIDER}/{SERVICE_CODE}"
KIB = 1024
MIB = 1024 * 1024

Reply = tuple[int, Mapping[str, str], bytes]
Request = Callable[[aiohttp.ClientSession], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class PayloadCase:
    """One payload measurement: which method, how many bytes, at which concurrency."""

    method: PayloadMethod
    size: int
    concurrency: int

    @property
    def label(self) -> str:
        return size_label(self.size)


def size_label(size: int) -> str:
    """`1KiB`, `100KiB`, `5MiB`: the keys of the per-size summaries."""
    if size >= MIB and size % MIB == 0:
        return f"{size // MIB}MiB"
    if size >= KIB and size % KIB == 0:
        return f"{size // KIB}KiB"
    return f"{size}B"


def target_path(method: PayloadMethod, size: int) -> str:
    """The path on `bench.blob`; through the bus it follows `REST_PREFIX`."""
    return f"/blob/{size}" if method == "GET" else "/echo"


def make_request(base_url: str, method: PayloadMethod, size: int, *,
                 through_bus: bool) -> Request:
    """A request for `size` bytes, to `bench.blob` at `base_url` or through the consumer
    security server at `base_url` (its client proxy) with the portal as the client."""
    url = base_url.rstrip("/") + (REST_PREFIX if through_bus else "") + target_path(method, size)
    headers = {"X-Road-Client": PORTAL} if through_bus else {}
    if method == "GET":
        async def get(session: aiohttp.ClientSession) -> Reply:
            async with session.get(url, headers=headers) as response:
                return response.status, response.headers, await response.read()
        return get

    body = blob_bytes(size)
    post_headers = {**headers, "Content-Type": "application/octet-stream"}

    async def post(session: aiohttp.ClientSession) -> Reply:
        async with session.post(url, data=body, headers=post_headers) as response:
            return response.status, response.headers, await response.read()
    return post


def payload_problem(reply: Reply, expected: bytes) -> str | None:
    """Why `reply` is not the expected payload, or None when it is (status 2xx, no X-Road
    fault, exactly the expected bytes: the length first, then every byte)."""
    status, headers, body = reply
    if not 200 <= status < 300:
        fault = headers.get("X-Road-Error", "")
        return f"HTTP {status} {fault}".rstrip()
    if "X-Road-Error" in headers:
        return f"HTTP {status} X-Road-Error {headers['X-Road-Error']}"
    if len(body) != len(expected):
        return f"HTTP {status} payload of {len(body)} bytes instead of {len(expected)}"
    if body != expected:
        offset = next(i for i, (a, b) in enumerate(zip(body, expected, strict=True)) if a != b)
        return f"HTTP {status} payload differs from byte {offset} on"
    return None


@dataclass(frozen=True, slots=True)
class PayloadResult:
    """One payload measurement, as it goes into `latest.json` (`payload_runs[]`)."""

    method: str
    size: int
    size_label: str
    path: str  # "direct" (to bench.blob) or "rest" (through both security servers)
    concurrency: int
    window_s: float
    requests: int  # correct answers that arrived inside the window
    rps: float
    mib_per_s: float  # payload MiB per second in one direction (POST moves as much back)
    latency_ms: dict[str, float]
    errors: int
    error_kinds: dict[str, int]
    error_samples: list[str]
    cpu_s: dict[str, float]  # CPU seconds over the window per process
    ss_rss_mb_before: dict[str, float]  # security servers' resident memory before the run
    ss_peak_rss_mb: dict[str, float]  # their peak resident memory (VmHWM) over `peak_rss_since`
    peak_rss_since: str  # "run start" (VmHWM reset before the run) or "process start"
