"""Fixtures for key tests: a fixed time, a dev CA, and a real SoftHSM2 token.

SoftHSM2 comes from Debian's `softhsm2` package. When it is missing and the tests run as root,
the session fixture installs it (a one-time cost of a few seconds to a minute, depending on the
mirror); PKCS#11 tests are skipped, with the reason, only when that is impossible.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from keys.devpki import DevCa, ensure_dev_ca
from keys.pkcs11_token import Pkcs11Token
from tests.debian import ensure_package

AT = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
USER_PIN = "1234"
SO_PIN = "5678"
TOKEN_LABEL = "test"
_LIBRARY_NAME = "libsofthsm2.so"
_DEFAULT_LIBRARY = Path("/usr/lib/softhsm") / _LIBRARY_NAME


@dataclass(frozen=True)
class SoftHsm:
    module: Path
    token_label: str
    pin: str


def _find_library() -> Path | None:
    if _DEFAULT_LIBRARY.exists():
        return _DEFAULT_LIBRARY
    for root in (Path("/usr/lib"), Path("/usr/local/lib"), Path("/usr/lib64")):
        found = next(root.rglob(_LIBRARY_NAME), None) if root.is_dir() else None
        if found is not None:
            return found
    return None


def _install_softhsm() -> str | None:
    """Make sure SoftHSM2 is installed; return why it cannot be, or None when it is."""
    def present() -> bool:
        return bool(shutil.which("softhsm2-util")) and _find_library() is not None

    return ensure_package("softhsm2", present)


@pytest.fixture(scope="session")
def at() -> datetime:
    return AT


@pytest.fixture(scope="session")
def ca(tmp_path_factory: pytest.TempPathFactory) -> DevCa:
    return ensure_dev_ca(tmp_path_factory.mktemp("pki"), "MN", "pin", AT)


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsm]:
    """A freshly initialised SoftHSM2 token in a temporary directory, for the whole session.

    SOFTHSM2_CONF must be set before the library is first initialised in this process, so the
    token is created before any test loads the module.
    """
    reason = _install_softhsm()
    if reason is not None:
        pytest.skip(reason)
    library = _find_library()
    assert library is not None
    home = tmp_path_factory.mktemp("softhsm")
    (home / "tokens").mkdir()
    conf = home / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {home / 'tokens'}\n"
                    "objectstore.backend = file\nlog.level = ERROR\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOFTHSM2_CONF", str(conf))
        subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", TOKEN_LABEL,
                        "--pin", USER_PIN, "--so-pin", SO_PIN],
                       check=True, capture_output=True, timeout=60)
        yield SoftHsm(library, TOKEN_LABEL, USER_PIN)


@pytest.fixture
def device(softhsm: SoftHsm) -> Iterator[Pkcs11Token]:
    """The SoftHSM token, logged in for one test only.

    Login state is per process, so no token may stay open across tests: the wrong-PIN test
    needs a process that is not logged in.
    """
    with Pkcs11Token.open(softhsm.module, softhsm.token_label, softhsm.pin) as token:
        yield token


@pytest.fixture
def label(request: pytest.FixtureRequest) -> str:
    """A label no other test uses: the SoftHSM token lives for the whole session."""
    name = re.sub(r"[^A-Za-z0-9_-]", "_", request.node.name)[:40]
    return f"{name}-{secrets.token_hex(3)}"
