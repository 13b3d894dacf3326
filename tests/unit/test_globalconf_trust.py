"""Configuration signing key rotation, as seen by a security server (ADR 0007).

Keys are named by letter: A is in the anchor, B is the central server's next key, C is a key
nobody announced. Each scenario is a table of configurations offered in turn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest

from keys.devpki import new_key
from keys.token import SoftwareSigner
from xroad.clock import FixedClock
from xroad.errors import OutdatedGlobalConf
from xroad.globalconf import codec, trust
from xroad.globalconf.anchor import ConfigurationAnchor
from xroad.globalconf.model import GlobalConf, MemberInfo
from xroad.globalconf.refresh import TRUSTED_KEYS_FILE, GlobalConfClient
from xroad.globalconf.trust import TrustedKeys
from xroad.identifiers import ClientId

VALIDITY = timedelta(minutes=10)
MINUTE = timedelta(minutes=1)


@pytest.fixture(scope="module")
def keys(conf_signer, other_conf_signer, ca, at) -> dict[str, SoftwareSigner]:
    key = new_key()
    cert = ca.issue_conf_signing_cert("MN", key.public_key(), at)
    return {"A": conf_signer, "B": other_conf_signer,
            "C": SoftwareSigner("stranger", key, (cert, *ca.chain))}


@pytest.fixture(scope="module")
def base(at) -> GlobalConf:
    return GlobalConf(instance="MN", version=1, generated_at=at, expires_at=at + VALIDITY,
                      member_classes=("GOV",),
                      members=(MemberInfo(ClientId.parse("MN/GOV/GASR"), "GASR"),),
                      security_servers=(), approved_cas=())


@pytest.fixture
def anchor(keys) -> ConfigurationAnchor:
    return ConfigurationAnchor("MN", "http://127.0.0.1:9/unused", (keys["A"].certificate,))


@dataclass(frozen=True)
class Offer:
    """A configuration signed by `signer` announcing `announces`, offered `minute` minutes
    after the first one was generated (it is generated `age` minutes before that)."""

    signer: str
    announces: str
    version: int
    minute: int = 0
    age: int = 0
    refused: str | None = None  # regular expression of the refusal
    trusted: str | None = None  # the trusted keys afterwards (unchanged if None)
    labelled: str | None = None  # claims to be signed by this key instead of `signer`


ROTATION = {
    "announced-next-key-accepted-after-the-switch": [
        Offer("A", "AB", 1, trusted="AB"),
        Offer("B", "B", 2, minute=1, trusted="B"),
    ],
    "retired-key-refused-after-the-switch": [
        Offer("A", "AB", 1, trusted="AB"),
        Offer("B", "B", 2, minute=1, trusted="B"),
        Offer("A", "A", 3, minute=2, refused="not in the anchor", trusted="B"),
    ],
    "old-configuration-of-the-retired-key-replayed": [
        Offer("A", "AB", 1, trusted="AB"),
        Offer("B", "B", 2, minute=1, trusted="B"),
        Offer("A", "AB", 1, minute=2, refused="not in the anchor", trusted="B"),
    ],
    "unannounced-new-key-refused": [
        Offer("A", "A", 1, trusted="A"),
        Offer("C", "C", 2, minute=1, refused="not in the anchor", trusted="A"),
    ],
    "announcement-signed-by-an-untrusted-key-ignored": [
        Offer("C", "CB", 1, refused="not in the anchor", trusted="A"),
        Offer("B", "B", 2, minute=1, refused="not in the anchor", trusted="A"),
    ],
    "announcement-signed-by-a-stranger-naming-a-trusted-key-ignored": [
        Offer("C", "CB", 1, refused="signature is invalid", trusted="A", labelled="A"),
        Offer("B", "B", 2, minute=1, refused="not in the anchor", trusted="A"),
    ],
    "withdrawn-next-key-dropped": [
        Offer("A", "AB", 1, trusted="AB"),
        Offer("A", "A", 2, minute=1, trusted="A"),
        Offer("B", "B", 3, minute=2, refused="not in the anchor", trusted="A"),
    ],
    "expired-announcement-changes-nothing": [
        Offer("A", "AB", 1, minute=11, age=11, trusted="A"),  # accepted (to say why not)
        Offer("B", "B", 2, minute=12, refused="not in the anchor", trusted="A"),
    ],
    "configuration-announcing-nothing-keeps-the-trusted-keys": [
        Offer("A", "AB", 1, trusted="AB"),
        Offer("A", "", 2, minute=1, trusted="AB"),
        Offer("B", "B", 3, minute=2, trusted="B"),
    ],
    "older-version-refused-even-when-signed-by-the-next-key": [
        Offer("A", "AB", 2, trusted="AB"),
        Offer("B", "B", 1, minute=1, refused="older than 2", trusted="AB"),
    ],
    "same-version-generated-earlier-refused": [
        Offer("A", "AB", 2, minute=1, trusted="AB"),
        Offer("A", "AB", 2, minute=1, age=2, refused="older than the copy", trusted="AB"),
    ],
}


def _offer(offer: Offer, base: GlobalConf, keys: dict[str, SoftwareSigner]) -> bytes:
    at = base.generated_at + offer.minute * MINUTE - offer.age * MINUTE
    conf = replace(base, version=offer.version, generated_at=at, expires_at=at + VALIDITY,
                   verification_certs=tuple(keys[k].certificate for k in offer.announces))
    signed = codec.sign(codec.encode(conf), keys[offer.signer])
    if offer.labelled is not None:
        doc = json.loads(signed)
        doc["verification_cert_sha256"] = codec.cert_sha256(keys[offer.labelled].certificate)
        signed = json.dumps(doc).encode()
    return signed


def _names(trusted: TrustedKeys, keys: dict[str, SoftwareSigner]) -> str:
    by_hash = {codec.cert_sha256(s.certificate): name for name, s in keys.items()}
    return "".join(sorted(by_hash[h] for h in trusted.fingerprints()))


@pytest.mark.parametrize("offers", ROTATION.values(), ids=ROTATION.keys())
def test_rotation(offers, base, keys, anchor):
    trusted, current = TrustedKeys.from_anchor(anchor), None
    for offer in offers:
        signed = _offer(offer, base, keys)
        at = base.generated_at + offer.minute * MINUTE
        if offer.refused is None:
            accepted = trust.accept(signed, "MN", trusted, current, at)
            trusted, current = accepted.trusted, accepted.conf
            assert current.version == offer.version
        else:
            with pytest.raises(OutdatedGlobalConf, match=offer.refused):
                trust.accept(signed, "MN", trusted, current, at)
        if offer.trusted is not None:
            assert _names(trusted, keys) == "".join(sorted(offer.trusted))


def test_expiry_is_still_enforced_with_an_announced_key(base, keys, anchor, tmp_path):
    client = GlobalConfClient(anchor, tmp_path / "globalconf.signed.json",
                              FixedClock(base.generated_at))
    first = replace(base, verification_certs=(keys["A"].certificate, keys["B"].certificate))
    client.accept(codec.sign(codec.encode(first), keys["A"]))
    switched = replace(first, version=2, verification_certs=(keys["B"].certificate,))
    client.accept(codec.sign(codec.encode(switched), keys["B"]))
    client.clock.advance(VALIDITY)
    with pytest.raises(OutdatedGlobalConf, match="expired"):
        client.current()


def test_configuration_for_another_instance_refused_whoever_signs(base, keys, anchor):
    trusted = TrustedKeys.from_anchor(anchor)
    conf = replace(base, instance="LA", verification_certs=(keys["A"].certificate,))
    with pytest.raises(OutdatedGlobalConf, match="instance 'LA'"):
        trust.accept(codec.sign(codec.encode(conf), keys["A"]), "MN", trusted, None,
                     base.generated_at)


def test_trusted_keys_survive_a_restart(base, keys, anchor, tmp_path):
    """Announced before the switch, used after a restart: no new anchor needed."""
    cache = tmp_path / "globalconf.signed.json"
    client = GlobalConfClient(anchor, cache, FixedClock(base.generated_at))
    announced = replace(base, verification_certs=(keys["A"].certificate, keys["B"].certificate))
    client.accept(codec.sign(codec.encode(announced), keys["A"]))
    assert (tmp_path / TRUSTED_KEYS_FILE).exists()

    restarted = GlobalConfClient(anchor, cache, FixedClock(base.generated_at + MINUTE))
    assert _names(restarted.trusted_keys, keys) == "AB"
    switched = replace(base, version=2, generated_at=base.generated_at + MINUTE,
                       verification_certs=(keys["B"].certificate,))
    cache.write_bytes(codec.sign(codec.encode(switched), keys["B"]))
    assert restarted.load_cached() == switched
    assert _names(restarted.trusted_keys, keys) == "B"
    assert _names(GlobalConfClient(anchor, cache, restarted.clock).trusted_keys, keys) == "B"


def test_another_anchor_starts_over(base, keys, anchor, tmp_path):
    cache = tmp_path / "globalconf.signed.json"
    client = GlobalConfClient(anchor, cache, FixedClock(base.generated_at))
    client.accept(codec.sign(codec.encode(replace(base, verification_certs=(
        keys["A"].certificate, keys["B"].certificate))), keys["A"]))
    other = ConfigurationAnchor("MN", anchor.download_url, (keys["C"].certificate,))
    assert _names(GlobalConfClient(other, cache, client.clock).trusted_keys, keys) == "C"
    # The download URL is not part of what the trusted keys grew from (ports move).
    moved = replace(anchor, download_url="http://127.0.0.1:10/globalconf")
    assert _names(GlobalConfClient(moved, cache, client.clock).trusted_keys, keys) == "AB"


@pytest.mark.parametrize("data", [
    pytest.param(b"not json", id="not-json"),
    pytest.param(b'{"format": "other"}', id="other-format"),
    pytest.param(b'{"format": "xroad-bus-trusted-conf-keys/1", "anchor_sha256": "x", '
                 b'"verification_certs": ["junk"]}', id="bad-certificate"),
    pytest.param(b'{"format": "xroad-bus-trusted-conf-keys/1", "anchor_sha256": "x", '
                 b'"verification_certs": [5]}', id="not-a-string"),
])
def test_malformed_trusted_keys_fall_back_to_the_anchor(data, keys, anchor, tmp_path, at):
    (tmp_path / TRUSTED_KEYS_FILE).write_bytes(data)
    with pytest.raises(OutdatedGlobalConf, match="malformed"):
        TrustedKeys.restore(anchor, data)
    client = GlobalConfClient(anchor, tmp_path / "globalconf.signed.json", FixedClock(at))
    assert _names(client.trusted_keys, keys) == "A"


def test_trusted_keys_round_trip(keys, anchor):
    trusted = TrustedKeys(anchor.fingerprint(), (keys["A"].certificate, keys["B"].certificate))
    assert TrustedKeys.restore(anchor, trusted.encode()) == trusted
