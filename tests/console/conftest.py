"""Browser tests of the web console: a real demo (every process, real sockets) and Debian's
Chromium driven headless by Playwright.

Chromium comes from Debian's `chromium` package (no browser download). When it is missing and
the tests run as root, the session fixture installs it with apt-get (as tests/keys/conftest.py
does for SoftHSM2); the tests are skipped, with the reason, only when that is impossible.

The browser test modules share one demo (session scope; a module-scoped demo would double the
suite's time), each module has its own browser, each test a fresh browser context (no
cookies). Screenshots go to `test-artifacts/console/<test>-<page>.png`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.debian import ensure_package
from tests.e2e.demo import RunningDemo, start_demo

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
TIMEOUT_MS = 30_000  # a page on a busy two-core machine; most take well under a second


@pytest.fixture(scope="session")
def chromium() -> Path:
    reason = ensure_package("chromium", CHROMIUM.exists)
    if reason is not None:
        pytest.skip(reason)
    try:
        import playwright.sync_api  # noqa: F401, PLC0415
    except ImportError:
        pytest.skip("Playwright (Python) is not installed: pip install -e '.[dev]'")
    return CHROMIUM


@dataclass(frozen=True)
class ConsoleDemo:
    demo: RunningDemo
    url: str
    credentials: dict[str, dict[str, str]]

    @property
    def data_dir(self) -> Path:
        return self.demo.data_dir

    def password(self, username: str) -> str:
        return self.credentials[username]["password"]

    def xroad(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """An `xroad` command against this demo's data directory (for the security server's
        side of a workflow, which is not the console's job)."""
        import sys  # noqa: PLC0415

        env = {k: v for k, v in os.environ.items() if not k.startswith("XROAD_CENTRAL_")}
        return subprocess.run([sys.executable, "-m", "xroad.cli.main", *args, "--data-dir",
                               str(self.data_dir)], capture_output=True, text=True,
                              check=False, timeout=timeout, env=env)


def start_console_demo(tmp_path_factory: pytest.TempPathFactory, name: str = "console",
                       env: dict[str, str] | None = None) -> tuple[RunningDemo, ConsoleDemo]:
    demo = start_demo(tmp_path_factory.mktemp(name) / "var", env=env)
    url = str(demo.instance["ui"]["url"])
    credentials: dict[str, Any] = json.loads(
        (demo.data_dir / "console" / "demo-credentials.json").read_text(encoding="utf-8"))
    return demo, ConsoleDemo(demo, url, credentials)


# Failed sign-ins lock an address out for this long in the test demo (5 minutes by default):
# the rate-limit test waits it out, so the modules after it can sign in again.
SIGN_IN_WINDOW_S = 12


@pytest.fixture(scope="session")
def console_demo(tmp_path_factory: pytest.TempPathFactory, chromium: Path
                 ) -> Iterator[ConsoleDemo]:
    """A demo with its console, shared by the browser test modules (starting one takes most
    of a minute on two cores; the modules' changes do not overlap)."""
    demo, running = start_console_demo(tmp_path_factory, env={
        "XROAD_CONSOLE_SIGN_IN_WINDOW_S": str(SIGN_IN_WINDOW_S)})
    yield running
    demo.stop()


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS,
                                     headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, console_demo: ConsoleDemo) -> Iterator[Any]:
    """A fresh browser context (no cookies) on the console, English unless switched."""
    context = browser.new_context(base_url=console_demo.url, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    yield opened
    context.close()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    """`screenshot(page, "members")` saves test-artifacts/console/<test>-members.png."""
    def shoot(page: Any, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{_safe(request.node.name)}-{_safe(name)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path
    return shoot


def sign_in(page: Any, username: str, password: str) -> None:
    """Sign in through the form (the console then shows its home page or `next`)."""
    page.goto("/sign-in")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r".*/sign-in.*"))
