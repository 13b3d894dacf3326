"""`python -m bench.run [--quick]`: start the demo, measure it, write bench/results/latest.*.

Exit code 0 when every request succeeded, 1 when any failed (or a measurement could not be
taken), 2 when the demo did not start. Progress goes to stderr, the result table to stdout.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import micro, report
from bench.demo import CONSUMER, SECURITY_SERVERS, Demo, log_problems, start_demo
from bench.load import PATHS, LoadFailed, LoadResult, LoadSpec, PathName, run_in_subprocess
from bench.payload import KIB, MIB, PayloadCase
from bench.payload_run import measure_payloads
from bench.procstat import ProcSample, machine, sample
from xroad.cli.demo import DEMO_PERSON, SOAP_EXAMPLE
from xroad.demo.process import DemoStartFailed

RESULTS_DIR = Path(__file__).resolve().parent / "results"
_STARTED = time.monotonic()


@dataclass(frozen=True, slots=True)
class Plan:
    mode: str
    duration_s: float  # per measurement, after the warm-up
    warmup_s: float
    headline_concurrency: int  # where direct_rps, rest_bus_rps and soap_bus_rps are taken
    levels: tuple[int, ...]  # concurrency levels measured for every path
    micro_s: float  # per micro benchmark
    payload_cases: tuple[PayloadCase, ...]  # each measured directly and through the bus
    payload_duration_s: float
    payload_warmup_s: float


FULL = Plan("full", duration_s=8.0, warmup_s=1.0, headline_concurrency=16,
            levels=(1, 8, 16, 64, 256), micro_s=2.0,
            # ascending sizes: memory a security server keeps after a large payload must not
            # count against a smaller one
            payload_cases=(PayloadCase("GET", KIB, 8), PayloadCase("GET", 100 * KIB, 8),
                           PayloadCase("POST", 100 * KIB, 8), PayloadCase("GET", 5 * MIB, 4),
                           PayloadCase("POST", 5 * MIB, 4)),
            payload_duration_s=4.0, payload_warmup_s=0.7)
QUICK = Plan("quick", duration_s=3.0, warmup_s=0.5, headline_concurrency=8, levels=(1, 8),
             micro_s=0.7,
             payload_cases=(PayloadCase("GET", 100 * KIB, 8),),
             payload_duration_s=1.5, payload_warmup_s=0.3)


def progress(message: str) -> None:
    print(f"[{time.monotonic() - _STARTED:6.1f} s] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> tuple[Plan, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="short run: 3 s per measurement, concurrency 1 and 8 only, "
                        "a payload of 100 KiB only")
    parser.add_argument("--duration", type=float,
                        help="seconds per person-query measurement (payload runs: fixed)")
    parser.add_argument("--warmup", type=float, help="unrecorded seconds before each")
    parser.add_argument("--concurrency", type=int,
                        help="the level the headline requests/s are taken at")
    parser.add_argument("--levels", help="comma-separated concurrency levels, e.g. 1,8,64")
    parser.add_argument("--no-payloads", action="store_true",
                        help="skip the payload-size runs (bench.blob through the bus)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--keep", action="store_true",
                        help="keep the demo's data directory (kept anyway when requests fail)")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.no_payloads:
        plan = replace(plan, payload_cases=())
    if args.duration is not None:
        plan = replace(plan, duration_s=args.duration)
    if args.warmup is not None:
        plan = replace(plan, warmup_s=args.warmup)
    if args.levels:
        plan = replace(plan, levels=tuple(sorted({int(x) for x in args.levels.split(",")})))
    if args.concurrency is not None:
        plan = replace(plan, headline_concurrency=args.concurrency)
    if plan.headline_concurrency not in plan.levels:
        plan = replace(plan, levels=tuple(sorted({*plan.levels, plan.headline_concurrency})))
    return plan, args


def snapshot(pids: dict[str, int]) -> dict[str, ProcSample]:
    return {name: sample(pid) for name, pid in pids.items()}


def measure_all(demo: Demo, plan: Plan) -> list[LoadResult]:
    """Every path at every level; the paths interleaved so drift hits them alike."""
    pids = demo.pids()
    envelope = SOAP_EXAMPLE.format(person=DEMO_PERSON)
    runs: list[LoadResult] = []
    for concurrency in plan.levels:
        for path in PATHS:
            progress(f"measuring {_LABELS[path]} c={concurrency} for {plan.duration_s:g} s ...")
            result = run_in_subprocess(LoadSpec(
                path=path, civil_url=demo.civil_url, client_url=demo.client_url(CONSUMER),
                concurrency=concurrency, duration_s=plan.duration_s, warmup_s=plan.warmup_s,
                soap_envelope=envelope, watch_pids=pids))
            note = f", {result.errors} FAILED" if result.errors else ""
            progress(f"  {result.rps:,.1f} requests/s, p50 {result.latency_ms['p50']:.2f} ms, "
                     f"p99 {result.latency_ms['p99']:.2f} ms{note}")
            runs.append(result)
    return runs


_LABELS: dict[PathName, str] = {"direct": "direct", "rest": "REST", "soap": "SOAP"}


def run_benchmark(plan: Plan, work_dir: Path) -> tuple[dict[str, Any], Path]:
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    machine_info = machine()
    progress(f"starting the demo in {work_dir / 'demo'} ...")
    demo = start_demo(work_dir / "demo")
    try:
        pids = demo.pids()
        progress("demo is ready: " + ", ".join(f"{n} pid {p}" for n, p in pids.items()))
        before = snapshot(pids)
        runs = measure_all(demo, plan)
        after = snapshot(pids)  # before the payload runs, which reset the peak RSS
        payload_runs = measure_payloads(demo, plan.payload_cases, plan.payload_duration_s,
                                        plan.payload_warmup_s, progress)
    finally:
        progress("stopping the demo ...")
        demo.stop()
    problems = {name: log_problems(demo.log_path(name))
                for name in (*SECURITY_SERVERS, "civil-adapter")}
    progress(f"micro benchmarks: signing, audit appends ({plan.micro_s:g} s each) ...")
    micro_results = micro.run_all(work_dir, plan.micro_s)
    doc = report.build(report.Measurements(
        mode=plan.mode, started_at=started_at, elapsed_s=time.monotonic() - _STARTED,
        settings={**asdict(plan), "person": DEMO_PERSON, "load_generator":
                  "separate process per measurement, aiohttp, closed loop, keep-alive"},
        runs=runs, before=before, after=after, micro=micro_results, machine=machine_info,
        log_problems=problems, security_servers=SECURITY_SERVERS, payload_runs=payload_runs))
    return doc, demo.data_dir


def _report_failures(doc: dict[str, Any], data_dir: Path) -> None:
    print(f"\n{doc['errors']} request(s) FAILED:", file=sys.stderr)
    for kind, count in doc["errors_by_kind"].items():
        print(f"  {count} x {kind}", file=sys.stderr)
    for run in doc["runs"]:
        for sample_text in run["error_samples"][:3]:
            print(f"  sample ({run['path']} c={run['concurrency']}): {sample_text[:400]}",
                  file=sys.stderr)
    for run in doc["payload_runs"]:
        for sample_text in run["error_samples"][:3]:
            print(f"  sample ({run['method']} {run['size_label']} {run['path']} "
                  f"c={run['concurrency']}): {sample_text[:400]}", file=sys.stderr)
    for name, found in doc["log_problems"].items():
        if found["counts"]:
            print(f"  {name} log: {found['counts']}", file=sys.stderr)
    print(f"  logs kept in {data_dir / 'logs'}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    plan, args = parse_args(argv)
    work_dir = Path(tempfile.mkdtemp(prefix="xroad-bench-"))
    try:
        doc, data_dir = run_benchmark(plan, work_dir)
    except DemoStartFailed as e:
        print(f"the demo did not start: {e}", file=sys.stderr)
        progress(f"kept {work_dir}")
        return 2
    except LoadFailed as e:
        print(f"a measurement failed: {e}", file=sys.stderr)
        progress(f"kept {work_dir}")
        return 1
    print(report.write(doc, args.out_dir))
    progress(f"wrote {args.out_dir / 'latest.json'} and {args.out_dir / 'latest.md'}")
    if doc["errors"]:
        _report_failures(doc, data_dir)
        progress(f"kept {work_dir}")
        return 1
    if args.keep:
        progress(f"kept {work_dir}")
    else:
        shutil.rmtree(work_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
