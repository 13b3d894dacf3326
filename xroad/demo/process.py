"""Run `xroad demo --free-ports` as a child process and find its parts (tests, benchmark)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STARTUP_TIMEOUT_S = 120.0


class DemoStartFailed(Exception):
    """The demo did not become ready; the message carries its output."""


@dataclass
class RunningDemo:
    data_dir: Path
    process: subprocess.Popen[bytes]
    output_path: Path

    @property
    def instance(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads((self.data_dir / "instance.json").read_text())
        return doc

    def server(self, server_id: str) -> dict[str, Any]:
        found: dict[str, Any] = next(s for s in self.instance["security_servers"]
                                     if s["id"] == server_id)
        return found

    def server_dir(self, server_id: str) -> Path:
        return self.data_dir / "ss" / server_id.replace("/", "_")

    def log(self, name: str) -> str:
        return (self.data_dir / "logs" / f"{name}.log").read_text(errors="replace")

    def pid(self, name: str) -> int:
        return int((self.data_dir / "logs" / f"{name}.pid").read_text())

    def output(self) -> str:
        return self.output_path.read_text(errors="replace")

    def stop(self) -> int:
        """SIGINT, as Ctrl-C would: the demo stops every process it started."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_demo(data_dir: Path, timeout_s: float = STARTUP_TIMEOUT_S,
               env: Mapping[str, str] | None = None) -> RunningDemo:
    """Start the demo in `data_dir` (new or reused) and return once it printed "is ready".

    `env` adds settings for the components (their processes inherit the demo's environment).
    """
    output_path = data_dir.parent / f"{data_dir.name}-demo-output.txt"
    already = output_path.stat().st_size if output_path.exists() else 0
    with output_path.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "xroad.cli.main", "demo", "--data-dir", str(data_dir),
             "--free-ports"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"})
    demo = RunningDemo(data_dir, process, output_path)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DemoStartFailed(f"the demo exited with code {process.returncode}:\n"
                                  f"{demo.output()}")
        if "is ready" in demo.output()[already:]:
            return demo
        time.sleep(0.2)
    demo.stop()
    raise DemoStartFailed(f"the demo was not ready after {timeout_s:.0f} s:\n{demo.output()}")
