"""Turn measurements into `latest.json` (machine-readable) and `latest.md` (a Markdown table)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from operator import attrgetter
from pathlib import Path
from typing import Any

from bench.load import PATHS, LoadResult
from bench.payload import PayloadResult
from bench.procstat import ProcSample

# issue 10: targets on a 2-core machine, measured in one run
TARGET_RATIO_REST = 0.5
TARGET_P50_ADDED_MS = 3.0
TARGET_AUDIT_APPENDS_PER_S = 5000
TARGET_RSS_MB = 150.0
TARGET_ERRORS_AT = 256


@dataclass(frozen=True, slots=True)
class Measurements:
    mode: str
    started_at: str
    elapsed_s: float
    settings: dict[str, Any]
    runs: list[LoadResult]
    before: dict[str, ProcSample]
    after: dict[str, ProcSample]
    micro: dict[str, Any]
    machine: dict[str, Any]
    log_problems: dict[str, Any]
    security_servers: tuple[str, ...]
    payload_runs: list[PayloadResult]


def _find(runs: list[LoadResult], path: str, concurrency: int) -> LoadResult | None:
    return next((r for r in runs if r.path == path and r.concurrency == concurrency), None)


def _rps(runs: list[LoadResult], path: str, concurrency: int) -> float | None:
    run = _find(runs, path, concurrency)
    return None if run is None else run.rps


def _p50(runs: list[LoadResult], path: str, concurrency: int) -> float | None:
    run = _find(runs, path, concurrency)
    return None if run is None or not run.requests else run.latency_ms["p50"]


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 3)


def _target(measured: float | int | None, target: float, *, at_least: bool) -> dict[str, Any]:
    met = None if measured is None else (measured >= target if at_least else measured <= target)
    return {"measured": measured, "target": f"{'>=' if at_least else '<='} {target:g}",
            "met": met}


def build(m: Measurements) -> dict[str, Any]:
    """The JSON document: headline keys first, then every detail."""
    c = int(m.settings["headline_concurrency"])
    direct, rest, soap = (_rps(m.runs, p, c) for p in PATHS)
    p50_added = _minus(_p50(m.runs, "rest", 1), _p50(m.runs, "direct", 1))
    audit = m.micro["audit_sqlite"]["appends_per_s"]
    peak = {name: round(m.after[name].peak_rss_mb, 1) for name in m.after}
    peak_ss = max((peak[n] for n in m.security_servers if n in peak), default=None)
    kinds: Counter[str] = Counter()
    for found in [r.error_kinds for r in m.runs] + [r.error_kinds for r in m.payload_runs]:
        kinds.update(found)
    payload_errors = sum(r.errors for r in m.payload_runs)
    errors = sum(r.errors for r in m.runs) + payload_errors
    at_max = [r for r in m.runs if r.concurrency == TARGET_ERRORS_AT]
    errors_at_max = sum(r.errors for r in at_max) if at_max else None
    return {
        "direct_rps": direct, "rest_bus_rps": rest, "soap_bus_rps": soap,
        "ratio_rest": _ratio(rest, direct), "ratio_soap": _ratio(soap, direct),
        "headline_concurrency": c,
        "p50_direct_c1_ms": _p50(m.runs, "direct", 1), "p50_rest_c1_ms": _p50(m.runs, "rest", 1),
        "p50_soap_c1_ms": _p50(m.runs, "soap", 1),
        "p50_added_ms": p50_added,
        "p50_added_soap_ms": _minus(_p50(m.runs, "soap", 1), _p50(m.runs, "direct", 1)),
        "audit_appends_per_s": audit,
        "audit_appends_per_s_postgresql": m.micro["audit_postgresql"]["appends_per_s"],
        "sign_per_s": m.micro["signing"]["sign_per_s"],
        "verify_per_s": m.micro["signing"]["verify_per_s"],
        "peak_rss_mb": peak_ss,
        "errors": errors,
        "errors_by_kind": dict(kinds.most_common()),
        **payload_summary(m.payload_runs, m.security_servers),
        "payload_errors": payload_errors,
        "targets": {
            "ratio_rest": _target(_ratio(rest, direct), TARGET_RATIO_REST, at_least=True),
            "p50_added_ms": _target(p50_added, TARGET_P50_ADDED_MS, at_least=False),
            "audit_appends_per_s": _target(audit, TARGET_AUDIT_APPENDS_PER_S, at_least=True),
            "peak_rss_mb": _target(peak_ss, TARGET_RSS_MB, at_least=False),
            f"errors_at_c{TARGET_ERRORS_AT}": _target(errors_at_max, 0, at_least=False),
        },
        "mode": m.mode, "started_at": m.started_at, "elapsed_s": round(m.elapsed_s, 1),
        "machine": m.machine,
        "settings": m.settings,
        "processes": {
            name: {"cpu_s_during_runs": round(m.after[name].cpu_s - m.before[name].cpu_s, 2),
                   "rss_mb_before": round(m.before[name].rss_mb, 1),
                   "rss_mb_after": round(m.after[name].rss_mb, 1),
                   "peak_rss_mb": peak[name]}
            for name in m.after if name in m.before},
        "runs": [asdict(r) for r in m.runs],
        "payload_runs": [asdict(r) for r in m.payload_runs],
        "micro": m.micro,
        "log_problems": m.log_problems,
    }


def _payload_pair(results: list[PayloadResult], method: str, label: str
                  ) -> tuple[PayloadResult | None, PayloadResult | None]:
    found = {r.path: r for r in results if r.method == method and r.size_label == label}
    return found.get("direct"), found.get("rest")


def _labels(results: list[PayloadResult], method: str) -> list[str]:
    return list(dict.fromkeys(r.size_label for r in results if r.method == method))


def payload_summary(results: list[PayloadResult], servers: tuple[str, ...]) -> dict[str, Any]:
    """Per payload size (`1KiB`, `100KiB`, `5MiB`): bus/direct ratio, MiB/s, the security
    servers' peak RSS during the runs through the bus (GET and POST)."""
    def ratios(method: str) -> dict[str, float | None]:
        pairs = {label: _payload_pair(results, method, label) for label in _labels(results, method)}
        return {label: _ratio(rest.rps if rest else None, direct.rps if direct else None)
                for label, (direct, rest) in pairs.items()}

    def mib(path: str) -> dict[str, float]:
        return {r.size_label: r.mib_per_s for r in results if r.method == "GET" and r.path == path}

    peaks: dict[str, float] = {}
    for r in results:
        found = [r.ss_peak_rss_mb[n] for n in servers if n in r.ss_peak_rss_mb]
        if r.path == "rest" and found:
            peaks[r.size_label] = max([*found, peaks.get(r.size_label, 0.0)])
    return {"payload_ratio_rest": ratios("GET"), "payload_ratio_rest_post": ratios("POST"),
            "payload_mib_per_s_direct": mib("direct"), "payload_mib_per_s_rest": mib("rest"),
            "payload_ss_peak_rss_mb": peaks}


def _fmt(value: object, suffix: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") + suffix
    if isinstance(value, int):
        return f"{value:,}{suffix}"
    return f"{value}{suffix}"


def _met(target: dict[str, Any]) -> str:
    return {True: "yes", False: "**no**", None: "n/a"}[target["met"]]


def _per_request_ms(run: LoadResult, name: str) -> str:
    if name not in run.cpu_s or not run.requests:
        return "n/a"
    return f"{run.cpu_s[name] * 1000 / run.requests:.2f}"


def _rss(run: LoadResult, name: str) -> str:
    value = run.rss_mb_at_end.get(name)
    return "n/a" if value is None else f"{value:.0f}"


def markdown(doc: dict[str, Any]) -> str:
    t, mach, c = doc["targets"], doc["machine"], doc["headline_concurrency"]
    audit_pg = doc["micro"]["audit_postgresql"]
    lines = [
        f"# Benchmark ({doc['mode']}), {doc['started_at']}",
        "",
        f"{mach['cpus_available']} CPUs ({mach['cpu_model']}), Python {mach['python']}, "
        f"load average {mach['loadavg_1m_at_start']} at start; "
        f"{doc['settings']['duration_s']:g} s per measurement after "
        f"{doc['settings']['warmup_s']:g} s warm-up; run took {doc['elapsed_s']:g} s.",
        "",
        "| Metric | Measured | Target | Met |",
        "|---|---|---|---|",
        f"| direct requests/s (c={c}) | {_fmt(doc['direct_rps'])} | | |",
        f"| REST through the bus requests/s (c={c}) | {_fmt(doc['rest_bus_rps'])} | | |",
        f"| SOAP through the bus requests/s (c={c}) | {_fmt(doc['soap_bus_rps'])} | | |",
        f"| bus/direct ratio, REST | {_fmt(doc['ratio_rest'])} | {t['ratio_rest']['target']} "
        f"| {_met(t['ratio_rest'])} |",
        f"| bus/direct ratio, SOAP | {_fmt(doc['ratio_soap'])} | | |",
        f"| added p50 at c=1, REST | {_fmt(doc['p50_added_ms'], ' ms')} | "
        f"{t['p50_added_ms']['target']} ms | {_met(t['p50_added_ms'])} |",
        f"| added p50 at c=1, SOAP | {_fmt(doc['p50_added_soap_ms'], ' ms')} | | |",
        f"| durable audit appends/s, SQLite | {_fmt(doc['audit_appends_per_s'])} | "
        f"{t['audit_appends_per_s']['target']} | {_met(t['audit_appends_per_s'])} |",
        f"| durable audit appends/s, PostgreSQL | {_fmt(audit_pg['appends_per_s'])}"
        f"{'' if audit_pg['appends_per_s'] is not None else ' (' + audit_pg['reason'] + ')'}"
        " | | |",
        f"| sign_message / verify_message per s (1 KiB) | {_fmt(doc['sign_per_s'])} / "
        f"{_fmt(doc['verify_per_s'])} | | |",
        f"| peak RSS of a security server | {_fmt(doc['peak_rss_mb'], ' MB')} | "
        f"{t['peak_rss_mb']['target']} MB | {_met(t['peak_rss_mb'])} |",
        f"| failed requests at c={TARGET_ERRORS_AT} | "
        f"{_fmt(t[f'errors_at_c{TARGET_ERRORS_AT}']['measured'])} | 0 | "
        f"{_met(t[f'errors_at_c{TARGET_ERRORS_AT}'])} |",
        f"| failed requests, whole run | {_fmt(doc['errors'])} | | |",
        "",
        "| Path | Concurrency | Requests/s | p50 ms | p95 ms | p99 ms | Errors "
        "| CPU ms/req consumer SS | CPU ms/req provider SS | CPU ms/req adapter "
        "| SS RSS MB at end (consumer / provider) | Load generator CPU |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in (LoadResult(**r) for r in doc["runs"]):
        lat = run.latency_ms
        loadgen = run.cpu_s.get("loadgen")
        lines.append(
            f"| {run.path} | {run.concurrency} | {_fmt(run.rps)} | {_fmt(lat['p50'])} "
            f"| {_fmt(lat['p95'])} | {_fmt(lat['p99'])} | {run.errors} "
            f"| {_per_request_ms(run, 'ss-consumer')} | {_per_request_ms(run, 'ss-provider')} "
            f"| {_per_request_ms(run, 'civil-adapter')} "
            f"| {_rss(run, 'ss-consumer')} / {_rss(run, 'ss-provider')} "
            f"| {'n/a' if loadgen is None else f'{loadgen / run.window_s:.0%}'} |")
    lines += ["", "| Process | CPU s during the runs | RSS before MB | Peak RSS (VmHWM) MB |",
              "|---|---|---|---|"]
    lines += [f"| {name} | {p['cpu_s_during_runs']:g} | {p['rss_mb_before']:g} "
              f"| {p['peak_rss_mb']:g} |" for name, p in doc["processes"].items()]
    lines += payload_markdown(doc)
    if doc["errors_by_kind"]:
        lines += ["", "Errors by kind:", ""]
        lines += [f"- {count} x `{kind}`" for kind, count in doc["errors_by_kind"].items()]
    return "\n".join(lines) + "\n"


def _latencies(run: PayloadResult | None) -> str:
    if run is None:
        return "n/a"
    lat = run.latency_ms
    return f"{_fmt(lat['p50'])} / {_fmt(lat['p95'])} / {_fmt(lat['p99'])}"


def _cell(run: PayloadResult | None, value: Callable[[PayloadResult], object]) -> str:
    return "n/a" if run is None else _fmt(value(run))


def _payload_row(direct: PayloadResult | None, rest: PayloadResult | None) -> str:
    some = rest or direct
    if some is None:
        return ""
    ratio = _ratio(rest.rps if rest else None, direct.rps if direct else None)
    peaks = "n/a" if rest is None else " / ".join(
        _fmt(rest.ss_peak_rss_mb.get(n)) for n in ("ss-consumer", "ss-provider"))
    rps, mib, errors = attrgetter("rps"), attrgetter("mib_per_s"), attrgetter("errors")
    return (f"| {some.method} | {some.size_label} | {some.concurrency} | {_cell(direct, rps)} "
            f"| {_cell(rest, rps)} | {_fmt(ratio)} | {_cell(direct, mib)} | {_cell(rest, mib)} "
            f"| {_latencies(direct)} | {_latencies(rest)} "
            f"| {_cell(direct, errors)} / {_cell(rest, errors)} | {peaks} |")


def payload_markdown(doc: dict[str, Any]) -> list[str]:
    """The section "Throughput versus payload size" (no lines when nothing was measured)."""
    results = [PayloadResult(**r) for r in doc.get("payload_runs", [])]
    if not results:
        return []
    settings = doc["settings"]
    since = {r.peak_rss_since for r in results}
    lines = [
        "", "## Throughput versus payload size", "",
        f"bench.blob as the REST service `payload` of MN/GOV/GASR/civil-registry; "
        f"{settings['payload_duration_s']:g} s per measurement after "
        f"{settings['payload_warmup_s']:g} s warm-up. GET fetches the payload, POST sends it "
        "to an echo (as many bytes come back); MiB/s counts the payload in one direction. "
        "Peak RSS is the security servers' VmHWM since "
        + ("the start of each run." if since == {"run start"} else "their start (could not "
           "reset it before each run)."),
        "",
        "| Method | Size | c | direct req/s | REST req/s | bus/direct | direct MiB/s "
        "| REST MiB/s | direct p50 / p95 / p99 ms | REST p50 / p95 / p99 ms "
        "| errors direct / REST | SS peak RSS MB, REST run (consumer / provider) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for method in ("GET", "POST"):
        lines += [_payload_row(*_payload_pair(results, method, label))
                  for label in _labels(results, method)]
    return lines


def write(doc: dict[str, Any], out_dir: Path) -> str:
    """Write latest.json and latest.md into `out_dir`; return the Markdown."""
    out_dir.mkdir(parents=True, exist_ok=True)
    text = markdown(doc)
    (out_dir / "latest.json").write_text(
        json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out_dir / "latest.md").write_text(text, encoding="utf-8")
    return text
