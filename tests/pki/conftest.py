"""Fixtures for the dev PKI tests: the fixed PKI, a foreign CA, and services on real sockets."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from cryptography import x509
from fastapi import FastAPI

from keys.devpki import DevCa, ensure_dev_ca, new_key
from keys.fixedpki import EPOCH, FixedPki, build_fixed_pki
from keys.ocsp_responses import OcspResponder
from keys.services import create_ocsp_app, create_tsa_app
from keys.tsa_responses import TimeStampAuthority
from xroad.clock import SystemClock
from xroad.identifiers import ClientId

PIN = "test-only-pin"  # TEST ONLY

IssueCert = Callable[..., x509.Certificate]


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run `app` with uvicorn on a free loopback port in a background thread."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def pin() -> str:
    return PIN


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fixed-pki")


@pytest.fixture(scope="session")
def pki(pki_dir: Path) -> FixedPki:
    return build_fixed_pki(pki_dir, PIN)


@pytest.fixture(scope="session")
def foreign_ca(tmp_path_factory: pytest.TempPathFactory) -> DevCa:
    """Same names as the fixed CA, other keys: trusted by nobody here."""
    return ensure_dev_ca(tmp_path_factory.mktemp("foreign-pki"), "MN", PIN, EPOCH)


@pytest.fixture(scope="session")
def responder(pki: FixedPki) -> OcspResponder:
    return OcspResponder(pki.ca.issuing, pki.ocsp, pki.ca.index)


@pytest.fixture(scope="session")
def tsa(pki: FixedPki) -> TimeStampAuthority:
    return TimeStampAuthority(pki.tsa)


@pytest.fixture(scope="session")
def ocsp_url(responder: OcspResponder) -> Iterator[str]:
    with serve(create_ocsp_app(responder, SystemClock())) as url:
        yield url


@pytest.fixture(scope="session")
def tsa_url(tsa: TimeStampAuthority) -> Iterator[str]:
    with serve(create_tsa_app(tsa, SystemClock())) as url:
        yield url


@pytest.fixture(scope="session")
def issue() -> IssueCert:
    """Issue a fresh signing certificate (random serial) so each test owns its state."""
    def issue_cert(ca: DevCa, member: str = "MN/GOV/TEST") -> x509.Certificate:
        return ca.issue_signing_cert(ClientId.parse(member), new_key().public_key(), EPOCH,
                                     3650)
    return issue_cert


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC)
