from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.demo import RunningDemo, start_demo


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    running = start_demo(tmp_path_factory.mktemp("demo") / "var")
    yield running
    running.stop()


@pytest.fixture
def fresh_demo_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"
