"""Start the real demo instance (`xroad demo --free-ports`) in a temporary data directory."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STARTUP_TIMEOUT_S = 120


@dataclass
class RunningDemo:
    data_dir: Path
    process: subprocess.Popen[str]
    output_path: Path

    @property
    def instance(self) -> dict[str, Any]:
        return json.loads((self.data_dir / "instance.json").read_text())

    def server(self, server_id: str) -> dict[str, Any]:
        return next(s for s in self.instance["security_servers"] if s["id"] == server_id)

    def server_dir(self, server_id: str) -> Path:
        return self.data_dir / "ss" / server_id.replace("/", "_")

    def log(self, name: str) -> str:
        return (self.data_dir / "logs" / f"{name}.log").read_text()

    def audit_records(self, server_id: str) -> list[dict[str, Any]]:
        db = self.server_dir(server_id) / "audit.db"
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT idx, leaf FROM audit_log ORDER BY idx").fetchall()
        return [{"idx": idx, **json.loads(leaf)} for idx, leaf in rows]

    def pid(self, name: str) -> int:
        return int((self.data_dir / "logs" / f"{name}.pid").read_text())

    def output(self) -> str:
        return self.output_path.read_text()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_demo(data_dir: Path) -> RunningDemo:
    output_path = data_dir.parent / f"{data_dir.name}-demo-output.txt"
    with output_path.open("a") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "xroad.cli.main", "demo", "--data-dir", str(data_dir),
             "--free-ports"],
            stdout=out, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    demo = RunningDemo(data_dir, process, output_path)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    start_len = len(demo.output())
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"demo exited early:\n{demo.output()}")
        if "is ready" in demo.output()[start_len:]:
            return demo
        time.sleep(0.2)
    demo.stop()
    raise RuntimeError(f"demo not ready in {STARTUP_TIMEOUT_S} s:\n{demo.output()}")
