"""Closed-loop HTTP load generator; runs in its own process: `python -m bench.load SPEC_JSON`.

N workers share one aiohttp session (keep-alive, one connection per worker); each sends the
next request as soon as the previous answer has been read. The request is the person query
(paths `direct`, `rest`, `soap`) or a payload of a given size (`blob-direct`, `blob-rest`: see
bench/payload.py). Requests run for `warmup_s` unrecorded, then for `duration_s`: every answer
that arrives inside that window counts towards throughput and latency. Every failure counts as
an error, also during warm-up and while draining: a non-2xx status, an X-Road fault, an answer
without the person record (or not exactly the expected payload), or an exception. The result
is printed as one JSON object on stdout.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from urllib.parse import quote

import aiohttp

from bench import payload
from bench.blob import blob_bytes
from bench.procstat import ProcSample, try_sample

PathName = Literal["direct", "rest", "soap", "blob-direct", "blob-rest"]
PATHS: tuple[PathName, ...] = ("direct", "rest", "soap")  # the person query
PAYLOAD_PATHS: tuple[PathName, ...] = ("blob-direct", "blob-rest")
PERSON = "УБ99112233"
PORTAL = "MN/GOV/EMONGOLIA/portal"
SERVICE = "MN/GOV/GASR/civil-registry"
REQUEST_TIMEOUT_S = 60.0
MAX_ERROR_SAMPLES = 8

_SOAP_ID = "<xrd:id>demo-0001</xrd:id>"
_FAULT_CODE = re.compile(rb"<(?:\w+:)?faultcode>([^<]{1,200})</")
_JSON_TYPE = re.compile(rb'"type"\s*:\s*"([^"]{1,200})"')

Reply = tuple[int, Mapping[str, str], bytes]
Check = Callable[[Reply], str | None]


@dataclass(frozen=True, slots=True)
class LoadSpec:
    path: PathName
    civil_url: str  # the adapter, for the direct path
    client_url: str  # the consumer security server's client proxy, for REST and SOAP
    concurrency: int
    duration_s: float
    warmup_s: float
    soap_envelope: str = ""  # for the SOAP path: the demo's example with this PERSON
    watch_pids: dict[str, int] = field(default_factory=dict)  # CPU measured over the window
    blob_url: str = ""  # bench.blob, for the payload paths
    payload_method: payload.PayloadMethod = "GET"
    payload_size: int = 0


@dataclass(frozen=True, slots=True)
class LoadResult:
    path: str
    concurrency: int
    window_s: float
    requests: int  # successful answers that arrived inside the window
    rps: float
    latency_ms: dict[str, float]  # p50, p95, p99, mean, max over those answers
    errors: int  # failed requests, warm-up and drain included
    error_kinds: dict[str, int]
    error_samples: list[str]
    cpu_s: dict[str, float]  # CPU seconds over the window per watched process, and "loadgen"
    rss_mb_at_end: dict[str, float]  # resident memory of each watched process as the window ends
    event_loop: str


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def _fault_of(headers: Mapping[str, str], body: bytes) -> str:
    if "X-Road-Error" in headers:
        return headers["X-Road-Error"]
    match = _FAULT_CODE.search(body) or _JSON_TYPE.search(body)
    return match.group(1).decode(errors="replace") if match else ""


def problem_with(path: PathName, reply: Reply) -> str | None:
    """Why `reply` is not a correct answer to the person query, or None when it is."""
    status, headers, body = reply
    if not 200 <= status < 300:
        return f"HTTP {status} {_fault_of(headers, body)}".rstrip()
    if path == "rest" and "X-Road-Error" in headers:
        return f"HTTP {status} X-Road-Error {headers['X-Road-Error']}"
    if path == "soap" and b":Fault>" in body:
        return f"HTTP {status} SOAP fault {_fault_of(headers, body)}".rstrip()
    if PERSON.encode() not in body:
        return f"HTTP {status} answer without the person record"
    return None


def make_check(spec: LoadSpec) -> Check:
    """How an answer is judged: the person record, or exactly the expected payload."""
    if spec.path in PAYLOAD_PATHS:
        expected = blob_bytes(spec.payload_size)
        return lambda reply: payload.payload_problem(reply, expected)
    path = spec.path
    return lambda reply: problem_with(path, reply)


def make_request(spec: LoadSpec) -> Callable[[aiohttp.ClientSession], Awaitable[Reply]]:
    """The same person query, sent directly, through the bus over REST r1, or over SOAP;
    or a payload, sent directly to bench.blob or through the bus over REST r1."""
    if spec.path in PAYLOAD_PATHS:
        through_bus = spec.path == "blob-rest"
        return payload.make_request(spec.client_url if through_bus else spec.blob_url,
                                    spec.payload_method, spec.payload_size,
                                    through_bus=through_bus)
    person = quote(PERSON, safe="")
    if spec.path == "direct":
        url, headers = f"{spec.civil_url}/persons/{person}", {}
    elif spec.path == "rest":
        url = f"{spec.client_url}/r1/{SERVICE}/persons/{person}"
        headers = {"X-Road-Client": PORTAL}
    else:
        return _soap_request(spec)

    async def get(session: aiohttp.ClientSession) -> Reply:
        async with session.get(url, headers=headers) as response:
            return response.status, response.headers, await response.read()

    return get


def _soap_request(spec: LoadSpec) -> Callable[[aiohttp.ClientSession], Awaitable[Reply]]:
    if _SOAP_ID not in spec.soap_envelope:
        raise ValueError(f"the SOAP envelope does not contain {_SOAP_ID}")
    before, after = (s.encode() for s in spec.soap_envelope.split(_SOAP_ID, 1))
    counter = itertools.count()
    prefix = f"bench-{os.getpid()}-{time.time_ns()}-"
    url, headers = spec.client_url + "/", {"Content-Type": "text/xml; charset=utf-8"}

    async def post(session: aiohttp.ClientSession) -> Reply:
        unique = f"<xrd:id>{prefix}{next(counter)}</xrd:id>".encode()
        async with session.post(url, data=before + unique + after, headers=headers) as response:
            return response.status, response.headers, await response.read()

    return post


def error_excerpt(body: bytes) -> str:
    """The start of an answer for an error sample; binary payloads only by their length."""
    start = body[:600]
    try:
        return start.decode()
    except UnicodeDecodeError as e:
        if e.start >= len(start) - 3:  # a character cut in two at the end: text all the same
            return start[:e.start].decode()
        return f"({len(body)} bytes of binary)"


@dataclass
class _Run:
    spec: LoadSpec
    window_start: float
    window_end: float
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    cpu_at_start: dict[str, float] = field(default_factory=dict)
    cpu_s: dict[str, float] = field(default_factory=dict)
    rss_mb_at_end: dict[str, float] = field(default_factory=dict)

    def record(self, started: float, ended: float, problem: str | None, body: bytes) -> None:
        if problem is not None:
            if problem not in self.errors and len(self.samples) < MAX_ERROR_SAMPLES:
                self.samples.append(f"{problem}: {error_excerpt(body)}")
            self.errors[problem] += 1
        elif self.window_start <= ended <= self.window_end:
            self.latencies.append(ended - started)

    def _watched(self) -> dict[str, ProcSample]:
        now = {name: try_sample(pid) for name, pid in self.spec.watch_pids.items()}
        return {name: reading for name, reading in now.items() if reading is not None}

    async def watch_processes(self) -> None:
        """CPU of the watched processes (and of this one) over the window, RSS at its end."""
        await asyncio.sleep(max(0.0, self.window_start - time.perf_counter()))
        self.cpu_at_start = {**{name: s.cpu_s for name, s in self._watched().items()},
                             "loadgen": time.process_time()}
        await asyncio.sleep(max(0.0, self.window_end - time.perf_counter()))
        at_end = self._watched()
        cpu_now = {**{name: s.cpu_s for name, s in at_end.items()},
                   "loadgen": time.process_time()}
        self.cpu_s = {name: round(value - self.cpu_at_start[name], 3)
                      for name, value in cpu_now.items() if name in self.cpu_at_start}
        self.rss_mb_at_end = {name: round(s.rss_mb, 1) for name, s in at_end.items()}


async def _worker(run: _Run, session: aiohttp.ClientSession,
                  request: Callable[[aiohttp.ClientSession], Awaitable[Reply]],
                  check: Check) -> None:
    while (started := time.perf_counter()) < run.window_end:
        body = b""
        try:
            reply = await request(session)
            body = reply[2]
            problem = check(reply)
        except Exception as e:  # every failure is an error to report, whatever its type
            problem = f"{type(e).__name__}: {e}"[:200]
        run.record(started, time.perf_counter(), problem, body)


async def generate(spec: LoadSpec, event_loop: str) -> LoadResult:
    begin = time.perf_counter()
    run = _Run(spec, begin + spec.warmup_s, begin + spec.warmup_s + spec.duration_s)
    request, check = make_request(spec), make_check(spec)
    connector = aiohttp.TCPConnector(limit=spec.concurrency, keepalive_timeout=60)
    async with aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)) as session:
        watcher = asyncio.create_task(run.watch_processes())
        await asyncio.gather(*(_worker(run, session, request, check)
                               for _ in range(spec.concurrency)))
        await watcher
    latencies = sorted(x * 1000 for x in run.latencies)
    return LoadResult(
        path=spec.path, concurrency=spec.concurrency, window_s=spec.duration_s,
        requests=len(latencies), rps=round(len(latencies) / spec.duration_s, 1),
        latency_ms={
            "p50": round(percentile(latencies, 50), 3),
            "p95": round(percentile(latencies, 95), 3),
            "p99": round(percentile(latencies, 99), 3),
            "mean": round(sum(latencies) / len(latencies), 3) if latencies else 0.0,
            "max": round(latencies[-1], 3) if latencies else 0.0,
        },
        errors=sum(run.errors.values()), error_kinds=dict(run.errors.most_common()),
        error_samples=run.samples, cpu_s=run.cpu_s,
        rss_mb_at_end=run.rss_mb_at_end, event_loop=event_loop)


def _run_loop(spec: LoadSpec) -> LoadResult:
    """On uvloop when it is installed (uvicorn[standard] brings it): a cheaper generator."""
    try:
        import uvloop  # noqa: PLC0415
    except ImportError:
        return asyncio.run(generate(spec, "asyncio"))
    return uvloop.run(generate(spec, "uvloop"))


class LoadFailed(Exception):
    """The load generator process itself failed (not a request: those are counted as errors)."""


def run_in_subprocess(spec: LoadSpec) -> LoadResult:
    """Run one measurement in a fresh process, so the generator never shares a core's GIL."""
    limit = spec.warmup_s + spec.duration_s + REQUEST_TIMEOUT_S + 30
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bench.load", json.dumps(asdict(spec))],
            capture_output=True, text=True, timeout=limit, check=False)
    except subprocess.TimeoutExpired as e:
        raise LoadFailed(f"load generator did not finish within {limit:.0f} s") from e
    if done.returncode != 0:
        raise LoadFailed(f"load generator exited with {done.returncode}:\n{done.stderr}")
    doc: dict[str, Any] = json.loads(done.stdout)
    return LoadResult(**doc)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m bench.load SPEC_JSON", file=sys.stderr)
        return 2
    spec = LoadSpec(**json.loads(argv[0]))
    print(json.dumps(asdict(_run_loop(spec)), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
