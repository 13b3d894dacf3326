"""Shared fixtures for unit tests: a fixed time and a small dev PKI (built once per session)."""

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from keys.devpki import DevCa, KeyKind, ensure_dev_ca, new_key
from keys.token import SoftwareSigner, SoftwareToken
from xroad.identifiers import ClientId

AT = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
PIN = "pin"

SignerFactory = Callable[..., SoftwareSigner]


@pytest.fixture(scope="session")
def at() -> datetime:
    return AT


@pytest.fixture(scope="session")
def ca(tmp_path_factory: pytest.TempPathFactory) -> DevCa:
    return ensure_dev_ca(tmp_path_factory.mktemp("pki"), "MN", PIN, AT)


@pytest.fixture(scope="session")
def foreign_ca(tmp_path_factory: pytest.TempPathFactory) -> DevCa:
    """A second CA with the same names as `ca` but other keys: trusted by nobody."""
    return ensure_dev_ca(tmp_path_factory.mktemp("foreign-pki"), "MN", PIN, AT)


def _unlock(directory: Path, label: str, key: object, chain: list) -> SoftwareSigner:
    token = SoftwareToken(directory)
    token.store(label, key, chain, PIN)
    return token.unlock(label, PIN)


@pytest.fixture(scope="session")
def make_signer(tmp_path_factory: pytest.TempPathFactory) -> SignerFactory:
    """Issue a signing certificate for `member` from `issuer` and unlock it from a token."""
    cache: dict[tuple[str, str, int, str], SoftwareSigner] = {}

    def make(issuer: DevCa, member: str = "MN/GOV/GASR", kind: KeyKind = "ec",
             at: datetime = AT) -> SoftwareSigner:
        cache_key = (member, kind, id(issuer), at.isoformat())
        if cache_key not in cache:
            key = new_key(kind)
            cert = issuer.issue_signing_cert(ClientId.parse(member), key.public_key(), at)
            cache[cache_key] = _unlock(tmp_path_factory.mktemp("token"), "sign", key,
                                       [cert, *issuer.chain])
        return cache[cache_key]

    return make


@pytest.fixture(scope="session")
def conf_signer(ca: DevCa, tmp_path_factory: pytest.TempPathFactory) -> SoftwareSigner:
    key = new_key()
    cert = ca.issue_conf_signing_cert("MN", key.public_key(), AT)
    return _unlock(tmp_path_factory.mktemp("central"), "conf", key, [cert, *ca.chain])


@pytest.fixture(scope="session")
def other_conf_signer(ca: DevCa, tmp_path_factory: pytest.TempPathFactory) -> SoftwareSigner:
    key = new_key()
    cert = ca.issue_conf_signing_cert("MN", key.public_key(), AT)
    return _unlock(tmp_path_factory.mktemp("central2"), "conf", key, [cert, *ca.chain])
