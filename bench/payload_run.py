"""The payload-size runs: bench.blob registered on the running demo's provider, measured.

For the length of the runs, `bench.blob` runs as its own process and is a REST service
(`payload.SERVICE_CODE`) of the civil registry subsystem in the provider security server's
`serverconf.toml`, with GET and POST rights for the portal; the server re-reads the file within
a second, and the original text is put back afterwards. Each case is measured directly and
through the bus, one after the other; before each measurement the peak resident memory of the
security servers is reset, so the peak after it belongs to that measurement alone.
"""

from __future__ import annotations

import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from bench.blob import READY_PREFIX, blob_bytes
from bench.demo import CONSUMER, PROVIDER, SECURITY_SERVERS, Demo
from bench.load import (
    PAYLOAD_PATHS,
    LoadFailed,
    LoadResult,
    LoadSpec,
    PathName,
    run_in_subprocess,
)
from bench.payload import (
    MIB,
    PORTAL,
    REST_PREFIX,
    SERVICE_CODE,
    SERVICE_PROVIDER,
    PayloadCase,
    PayloadResult,
    payload_problem,
)
from bench.procstat import reset_peak_rss, sample, try_sample
from xroad import serverconf
from xroad.access import AccessRight, Endpoint
from xroad.identifiers import ClientId

BLOB_START_TIMEOUT_S = 30.0
REGISTRATION_TIMEOUT_S = 30.0  # the server re-reads serverconf about once a second
_PROBE_SIZE = 16

Progress = Callable[[str], None]


class PayloadSetupFailed(LoadFailed):
    """bench.blob did not start, or the bus did not serve it after registration."""


@dataclass
class BlobProcess:
    process: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_blob(log_path: Path) -> BlobProcess:
    """Start `python -m bench.blob --port 0` and read the address it prints when listening."""
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.blob", "--port", "0"],
            stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
    stdout = process.stdout
    ready, _, _ = select.select([stdout], [], [], BLOB_START_TIMEOUT_S) if stdout else ([], 0, 0)
    line = stdout.readline().decode(errors="replace").strip() if stdout and ready else ""
    if not line.startswith(READY_PREFIX):
        process.kill()
        process.wait()
        raise PayloadSetupFailed(f"bench.blob did not start (first line {line!r}); "
                                 f"see {log_path}")
    return BlobProcess(process, line.removeprefix(READY_PREFIX))


def with_blob_service(conf: serverconf.ServerConf, blob_url: str) -> serverconf.ServerConf:
    """`conf` plus the payload service at `blob_url`, callable by the portal with GET and POST."""
    provider, portal = ClientId.parse(SERVICE_PROVIDER), ClientId.parse(PORTAL)
    service = serverconf.ServiceDescription(provider, SERVICE_CODE, serverconf.ServiceType.REST,
                                            blob_url, timeout_s=60.0)
    rights = tuple(AccessRight(portal, provider, SERVICE_CODE, Endpoint(method, "/**"))
                   for method in ("GET", "POST"))
    return replace(conf, services=(*conf.services, service),
                   access_rights=(*conf.access_rights, *rights))


@contextmanager
def registered(path: Path, blob_url: str) -> Iterator[None]:
    """The payload service in the serverconf at `path` while in use; the original text after."""
    original = path.read_text(encoding="utf-8")
    serverconf.write_atomically(path, with_blob_service(serverconf.parse(original), blob_url))
    try:
        yield
    finally:
        tmp = path.with_name(path.name + ".bench-restore")
        tmp.write_text(original, encoding="utf-8")
        tmp.replace(path)


def wait_until_served(client_url: str, timeout_s: float = REGISTRATION_TIMEOUT_S) -> None:
    """Poll a small GET through the bus until the provider has re-read its serverconf."""
    url = client_url.rstrip("/") + REST_PREFIX + f"/blob/{_PROBE_SIZE}"
    expected = blob_bytes(_PROBE_SIZE)
    deadline = time.monotonic() + timeout_s
    last = "no answer yet"
    while time.monotonic() < deadline:
        request = urllib.request.Request(url, headers={"X-Road-Client": PORTAL})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - ours
                reply = (response.status, dict(response.headers.items()), response.read())
            problem = payload_problem(reply, expected)
        except urllib.error.HTTPError as e:
            problem = f"HTTP {e.code} {e.headers.get('X-Road-Error', '')}".rstrip()
        except OSError as e:
            problem = f"{type(e).__name__}: {e}"
        if problem is None:
            return
        last = problem
        time.sleep(0.25)
    raise PayloadSetupFailed(f"the bus did not serve {url} within {timeout_s:.0f} s: {last}")


def _result(case: PayloadCase, path: str, load: LoadResult, before: dict[str, float],
            peaks: dict[str, float], since: str) -> PayloadResult:
    return PayloadResult(
        method=case.method, size=case.size, size_label=case.label, path=path,
        concurrency=case.concurrency, window_s=load.window_s, requests=load.requests,
        rps=load.rps, mib_per_s=round(load.requests * case.size / MIB / load.window_s, 2),
        latency_ms=load.latency_ms, errors=load.errors, error_kinds=load.error_kinds,
        error_samples=load.error_samples, cpu_s=load.cpu_s, ss_rss_mb_before=before,
        ss_peak_rss_mb=peaks, peak_rss_since=since)


def _measure(demo: Demo, blob: BlobProcess, case: PayloadCase, path: PathName,
             duration_s: float, warmup_s: float) -> PayloadResult:
    pids = {**demo.pids(), "blob": blob.process.pid}
    servers = {name: pids[name] for name in SECURITY_SERVERS}
    resets = [reset_peak_rss(pid) for pid in servers.values()]  # every one, no short circuit
    reset = all(resets)
    before = {name: round(sample(pid).rss_mb, 1) for name, pid in servers.items()}
    load = run_in_subprocess(LoadSpec(
        path=path, civil_url=demo.civil_url, client_url=demo.client_url(CONSUMER),
        concurrency=case.concurrency, duration_s=duration_s, warmup_s=warmup_s,
        watch_pids=pids, blob_url=blob.url, payload_method=case.method,
        payload_size=case.size))
    after = {name: try_sample(pid) for name, pid in servers.items()}
    peaks = {name: round(s.peak_rss_mb, 1) for name, s in after.items() if s is not None}
    return _result(case, path.removeprefix("blob-"), load, before, peaks,
                   "run start" if reset else "process start")


def measure_payloads(demo: Demo, cases: tuple[PayloadCase, ...], duration_s: float,
                     warmup_s: float, progress: Progress) -> list[PayloadResult]:
    """Every case directly and through the bus, with bench.blob registered meanwhile."""
    if not cases:
        return []
    blob = start_blob(demo.data_dir / "logs" / "bench-blob.log")
    try:
        conf_path = demo.server_dir(PROVIDER) / "serverconf.toml"
        with registered(conf_path, blob.url):
            progress(f"bench.blob at {blob.url} registered as {REST_PREFIX}; waiting for the "
                     "provider to re-read its serverconf ...")
            wait_until_served(demo.client_url(CONSUMER))
            results: list[PayloadResult] = []
            for case in cases:
                for path in PAYLOAD_PATHS:
                    progress(f"measuring {case.method} {case.label} "
                             f"{'direct' if path == 'blob-direct' else 'REST'} "
                             f"c={case.concurrency} for {duration_s:g} s ...")
                    result = _measure(demo, blob, case, path, duration_s, warmup_s)
                    note = f", {result.errors} FAILED" if result.errors else ""
                    progress(f"  {result.rps:,.1f} requests/s, {result.mib_per_s:,.1f} MiB/s, "
                             f"p50 {result.latency_ms['p50']:.2f} ms, security servers' peak "
                             f"RSS {result.ss_peak_rss_mb} MB{note}")
                    results.append(result)
        return results
    finally:
        blob.stop()
