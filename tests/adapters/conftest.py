"""Fixtures of the civil registry adapter tests."""

from collections.abc import Iterator

import pytest
from civil_soap import civil_settings
from fastapi.testclient import TestClient

from adapters.civil import create_app


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(civil_settings(tmp_path_factory.mktemp("civil") / "civil.db"))
    with TestClient(app) as test_client:
        yield test_client

