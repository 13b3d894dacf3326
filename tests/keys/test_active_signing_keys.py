"""A security server follows its software token: a renewed signing key is used without a
restart, keys waiting for their certificate and authentication keys are never signing keys."""

from __future__ import annotations

import itertools
import os
from datetime import datetime, timedelta
from pathlib import Path

from keys.active import ActiveSigningKeys
from keys.devpki import DevCa, new_key
from keys.token import SoftwareToken
from xroad.clock import FixedClock
from xroad.identifiers import ClientId, SecurityServerId

PIN = "token-pin"
GASR = ClientId("MN", "GOV", "GASR")
MTA = ClientId("MN", "GOV", "MTA")
_BUMPS = itertools.count(1)


def _sign_key(token: SoftwareToken, ca: DevCa, label: str, member: ClientId,
              at: datetime, days: int = 365) -> None:
    key = new_key()
    token.store(label, key, [ca.issue_signing_cert(member, key.public_key(), at, days),
                             *ca.chain], PIN)
    _touch(token.directory)


def _touch(directory: Path) -> None:
    """File times on some file systems are coarse: make every change visible to the check."""
    bump = next(_BUMPS)
    for path in directory.glob("*.pem"):
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + bump))


def test_members_signers_from_certificates_not_labels(tmp_path: Path, ca: DevCa,
                                                      at: datetime) -> None:
    token = SoftwareToken(tmp_path)
    _sign_key(token, ca, "sign-MN_GOV_GASR", GASR, at)
    _sign_key(token, ca, "my-own-label", MTA, at)
    auth = new_key()
    token.store("auth", auth, [ca.issue_auth_cert(SecurityServerId(GASR, "ss1"),
                                                  auth.public_key(), at), *ca.chain], PIN)
    token.store_key("sign-MN_GOV_GASR-waiting", new_key(), PIN)  # no certificate yet

    keys = ActiveSigningKeys(token, PIN, FixedClock(at + timedelta(hours=1)))

    assert set(keys) == {GASR, MTA}
    assert keys[GASR].certificate == token.chain_of("sign-MN_GOV_GASR")[0]
    assert keys[MTA].certificate == token.chain_of("my-own-label")[0]


def test_a_renewed_key_is_used_after_reload_and_nothing_changes_without_one(
        tmp_path: Path, ca: DevCa, at: datetime) -> None:
    token = SoftwareToken(tmp_path)
    _sign_key(token, ca, "sign-MN_GOV_GASR", GASR, at)
    clock = FixedClock(at + timedelta(days=1))
    keys = ActiveSigningKeys(token, PIN, clock)
    old = keys[GASR]
    assert keys.reload() is False
    assert keys[GASR] is old  # not unlocked again

    renewed = new_key()
    token.store_key("sign-MN_GOV_GASR-2026", renewed, PIN)  # generated: no certificate yet
    _touch(tmp_path)
    assert keys.reload() is False
    assert keys[GASR] is old

    token.store_certificate("sign-MN_GOV_GASR-2026", [  # `xroad keys import-cert`
        ca.issue_signing_cert(GASR, renewed.public_key(), at + timedelta(hours=12)), *ca.chain])
    _touch(tmp_path)
    assert keys.reload() is True
    assert keys[GASR].certificate == token.chain_of("sign-MN_GOV_GASR-2026")[0]


def test_a_certificate_valid_now_wins_over_a_later_one_not_yet_valid_or_an_expired_one(
        tmp_path: Path, ca: DevCa, at: datetime) -> None:
    token = SoftwareToken(tmp_path)
    _sign_key(token, ca, "sign-current", GASR, at)
    _sign_key(token, ca, "sign-future", GASR, at + timedelta(days=30))
    _sign_key(token, ca, "sign-expired", GASR, at - timedelta(days=10), days=5)
    keys = ActiveSigningKeys(token, PIN, FixedClock(at + timedelta(days=1)))
    assert keys[GASR].certificate == token.chain_of("sign-current")[0]

    later = ActiveSigningKeys(token, PIN, FixedClock(at + timedelta(days=31)))
    assert later[GASR].certificate == token.chain_of("sign-future")[0]


def test_a_key_that_cannot_be_unlocked_keeps_the_previous_one(tmp_path: Path, ca: DevCa,
                                                              at: datetime) -> None:
    token = SoftwareToken(tmp_path)
    _sign_key(token, ca, "sign-old", GASR, at)
    keys = ActiveSigningKeys(token, PIN, FixedClock(at + timedelta(days=2)))
    wrong_pin = new_key()
    token.store("sign-new", wrong_pin,
                [ca.issue_signing_cert(GASR, wrong_pin.public_key(), at + timedelta(days=1)),
                 *ca.chain], "another pin")
    _touch(tmp_path)
    keys.reload()
    assert keys[GASR].certificate == token.chain_of("sign-old")[0]


def test_hsm_keys_take_precedence(tmp_path: Path, ca: DevCa, at: datetime) -> None:
    token = SoftwareToken(tmp_path)
    _sign_key(token, ca, "sign-soft", GASR, at)
    held = ActiveSigningKeys(SoftwareToken(tmp_path), PIN, FixedClock(at))[GASR]
    other = SoftwareToken(tmp_path / "hsm")
    _sign_key(other, ca, "sign-hsm", GASR, at)
    hsm_signer = other.unlock("sign-hsm", PIN)
    keys = ActiveSigningKeys(token, PIN, FixedClock(at), fixed={GASR: hsm_signer})
    assert keys[GASR] is hsm_signer
    assert held.certificate != hsm_signer.certificate
