"""CPU time and memory of processes from /proc (Linux only), and what machine this is."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class ProcSample:
    """One reading of a process: CPU seconds used so far, resident and peak resident memory."""

    cpu_s: float
    rss_mb: float
    peak_rss_mb: float  # VmHWM: the high-water mark of resident memory since process start


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` (all its threads) so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # the command name (field 2) may contain spaces; the fields after it are space-separated
    fields = stat.rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / _CLOCK_TICKS


def _status_kb(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return float(line.split()[1])
    return 0.0


def sample(pid: int) -> ProcSample:
    return ProcSample(cpu_seconds(pid), _status_kb(pid, "VmRSS") / 1024,
                      _status_kb(pid, "VmHWM") / 1024)


def reset_peak_rss(pid: int) -> bool:
    """Start VmHWM of `pid` afresh from its current RSS (Linux `clear_refs` value 5), so a
    later `sample` shows the peak of one measurement. False when the kernel refuses it."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def try_sample(pid: int) -> ProcSample | None:
    """`sample(pid)`, or None when the process is gone."""
    try:
        return sample(pid)
    except (FileNotFoundError, ProcessLookupError):
        return None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """What the numbers were measured on, and how busy the machine was when we started."""
    load1, load5, _ = os.getloadavg()
    return {
        "cpu_count": os.cpu_count(),
        "cpus_available": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "loadavg_1m_at_start": round(load1, 2),
        "loadavg_5m_at_start": round(load5, 2),
    }
