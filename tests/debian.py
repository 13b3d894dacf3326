"""Debian packages the tests need (SoftHSM2, Chromium), installed by the test setup itself.

The tests install what is missing when they run as root on a machine with apt-get, and are
skipped with the reason only where that is impossible."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from typing import Final

APT_TIMEOUT_S: Final = 900


def _apt(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(["apt-get", *args], capture_output=True, text=True, env=env,
                          timeout=APT_TIMEOUT_S, check=False)


def ensure_package(package: str, present: Callable[[], bool]) -> str | None:
    """Install `package` unless `present()`; return why it is not there, or None when it is.

    The package lists are updated only if the first install fails (a fresh container often
    has none yet)."""
    if present():
        return None
    if os.geteuid() != 0:
        return f"{package} is not installed and the tests do not run as root to apt-get install it"
    if shutil.which("apt-get") is None:
        return f"{package} is not installed and there is no apt-get to install it with"
    try:
        result = _apt("install", "-y", package)
        if result.returncode != 0:
            _apt("update")
            result = _apt("install", "-y", package)
    except subprocess.TimeoutExpired:
        return f"apt-get install {package} took longer than {APT_TIMEOUT_S} s"
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return f"apt-get install {package} failed: {last}"
    return None if present() else f"{package} is installed but what the tests need is missing"
