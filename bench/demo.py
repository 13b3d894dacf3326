"""Start the real demo instance (`xroad demo --free-ports`) as a subprocess and stop it again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from xroad.demo.process import RunningDemo
from xroad.demo.process import start_demo as start_running_demo

STARTUP_TIMEOUT_S = 120.0
CONSUMER = "MN/GOV/EMONGOLIA/ss1"
PROVIDER = "MN/GOV/GASR/ss1"
# names of the pid files in DIR/logs, and the short names used in reports
PROCESSES = {
    "ss-consumer": "ss-MN_GOV_EMONGOLIA_ss1",
    "ss-provider": "ss-MN_GOV_GASR_ss1",
    "civil-adapter": "civil-registry",
    "central-server": "central-server",
}
SECURITY_SERVERS = ("ss-consumer", "ss-provider")


class Demo(RunningDemo):
    """The running demo, with the addresses and processes the benchmark measures."""

    def client_url(self, server_id: str) -> str:
        return str(self.server(server_id)["client_url"])

    @property
    def civil_url(self) -> str:
        return str(self.instance["adapters"]["civil"]["url"])

    def pids(self) -> dict[str, int]:
        return {short: self.pid(name) for short, name in PROCESSES.items()}

    def log_path(self, short_name: str) -> Path:
        return self.data_dir / "logs" / f"{PROCESSES[short_name]}.log"


def start_demo(data_dir: Path) -> Demo:
    """Start the demo in `data_dir` and return once it printed "is ready"."""
    running = start_running_demo(data_dir, STARTUP_TIMEOUT_S)
    return Demo(running.data_dir, running.process, running.output_path)


def log_problems(path: Path, keep: int = 10) -> dict[str, Any]:
    """Warnings, errors and tracebacks in one component's log: counts by event, last lines."""
    counts: dict[str, int] = {}
    last: list[str] = []
    try:
        lines = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return {"counts": {}, "last": [f"(no log at {path})"]}
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if isinstance(entry, dict):
            if str(entry.get("level", "")).lower() not in {"warning", "error", "critical"}:
                continue
            code = entry.get("code")
            key = f"{entry.get('level')}: {entry.get('event')}" + (f" {code}" if code else "")
        elif "Traceback" in line or "Error" in line or "Exception" in line:
            key = "unstructured: " + line.strip()[:80]
        else:
            continue
        counts[key] = counts.get(key, 0) + 1
        last = [*last[-(keep - 1):], line[:1000]]
    return {"counts": counts, "last": last}
