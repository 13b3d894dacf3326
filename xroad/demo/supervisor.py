"""Start the demo's processes, wait until each is healthy, stop them all on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx


class StartupFailed(Exception):
    """A component did not become healthy; its log tail says why."""


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path


@dataclass
class Supervisor:
    log_dir: Path
    children: list[Child] = field(default_factory=list)

    def start(self, name: str, args: list[str], env: Mapping[str, str]) -> Child:
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "xroad.cli.main", *args],
                env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        (self.log_dir / f"{name}.pid").write_text(f"{process.pid}\n")
        child = Child(name, process, log_path)
        self.children.append(child)
        return child

    def wait_healthy(self, child: Child, url: str, timeout_s: float = 60.0,
                     require_ok: bool = True) -> None:
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=2.0) as http:
            while time.monotonic() < deadline:
                if child.process.poll() is not None:
                    raise StartupFailed(f"{child.name} exited with code "
                                        f"{child.process.returncode}:\n{self.tail(child)}")
                try:
                    reply = http.get(url)
                    if reply.status_code == 200 and (
                            not require_ok or reply.json().get("status") == "ok"):
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
        raise StartupFailed(f"{child.name} not healthy after {timeout_s:.0f} s:\n"
                            f"{self.tail(child)}")

    def tail(self, child: Child, lines: int = 15) -> str:
        try:
            text = child.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text[-lines:])

    def newly_exited(self, reported: set[str]) -> list[Child]:
        exited = [c for c in self.children
                  if c.name not in reported and c.process.poll() is not None]
        reported.update(c.name for c in exited)
        return exited

    def all_exited(self) -> bool:
        return all(c.process.poll() is not None for c in self.children)

    def stop_all(self, timeout_s: float = 10.0) -> None:
        for child in reversed(self.children):
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for child in self.children:
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
            (self.log_dir / f"{child.name}.pid").unlink(missing_ok=True)
