"""Start the real demo instance (`xroad demo --free-ports`) as a subprocess and stop it again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


class DemoFailed(Exception):
    """The demo did not come up; the message carries its output."""


@dataclass
class Demo:
    data_dir: Path
    process: subprocess.Popen[bytes]
    output_path: Path

    @property
    def instance(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads((self.data_dir / "instance.json").read_text())
        return doc

    def client_url(self, server_id: str) -> str:
        return str(next(s["client_url"] for s in self.instance["security_servers"]
                        if s["id"] == server_id))

    @property
    def civil_url(self) -> str:
        return str(self.instance["adapters"]["civil"]["url"])

    def pids(self) -> dict[str, int]:
        logs = self.data_dir / "logs"
        return {short: int((logs / f"{name}.pid").read_text())
                for short, name in PROCESSES.items()}

    def log_path(self, short_name: str) -> Path:
        return self.data_dir / "logs" / f"{PROCESSES[short_name]}.log"

    def output(self) -> str:
        return self.output_path.read_text(errors="replace")

    def stop(self) -> int | None:
        """SIGINT, as Ctrl-C would: the demo stops every process it started."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_demo(data_dir: Path) -> Demo:
    """Start the demo in `data_dir` and return once it printed "is ready"."""
    output_path = data_dir.parent / "demo-output.txt"
    with output_path.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "xroad.cli.main", "demo", "--data-dir", str(data_dir),
             "--free-ports"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    demo = Demo(data_dir, process, output_path)
    try:
        _wait_ready(demo)
    except BaseException:
        demo.stop()
        raise
    return demo


def _wait_ready(demo: Demo) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if demo.process.poll() is not None:
            raise DemoFailed(f"the demo exited with code {demo.process.returncode}:\n"
                             f"{demo.output()}")
        if "is ready" in demo.output():
            return
        time.sleep(0.2)
    raise DemoFailed(f"the demo was not ready after {STARTUP_TIMEOUT_S:.0f} s:\n{demo.output()}")


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
