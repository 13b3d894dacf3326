"""The central server's configuration signing keys in its software token (ADR 0007).

Rotation without downtime, in two steps, as in X-Road ("publish the new key, then switch"):

1. `prepare_next_key()` stores a new key under `NEXT_CONF_SIGNING_LABEL`. From the next
   publication on, global configuration announces its certificate (signed by the current key)
   and every security server that downloads it adds the key to its trusted set.
2. `activate_next_key()`, once the key has been announced long enough
   (`announcement_period()`), makes it the signing key; the old one is kept in the token as
   `conf-signing-retired-<time>` and is no longer announced, so security servers drop it.

`discard_next_key()` withdraws a prepared key instead. The running central server reads the
token at every publication (`TokenConfKeys`), so a change made by another process (the CLI)
takes effect within one generation interval, or at once after `ConfPublisher.changed()`.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import NameOID

from keys.token import SoftwareSigner, SoftwareToken
from xroad.central.publisher import ConfSigningKeys
from xroad.clock import require_aware
from xroad.errors import XRoadError
from xroad.globalconf.anchor import ConfigurationAnchor

CONF_SIGNING_LABEL: Final = "conf-signing"
NEXT_CONF_SIGNING_LABEL: Final = "conf-signing-next"
RETIRED_PREFIX: Final = "conf-signing-retired-"
_PREPARED_SUFFIX: Final = ".prepared.json"
_SELF_SIGNED_DAYS: Final = 20 * 365  # the certificate is only a key container (X-Road)

# Issues the certificate chain (leaf first) for a new key; default: self-signed.
CertIssuer = Callable[[CertificatePublicKeyTypes, datetime], list[x509.Certificate]]


class ConfKeyError(XRoadError):
    """A configuration signing key operation is not possible now (nothing prepared, a next
    key already prepared, announced too briefly, token being changed)."""


@dataclass(frozen=True, slots=True)
class NextKey:
    certificate: x509.Certificate
    prepared_at: datetime


def announcement_period(conf_validity_s: float, conf_generation_s: float) -> timedelta:
    """How long a next key must be announced before it may sign.

    A security server that can still route has downloaded a configuration within one validity
    period; the announcement reaches the first publication within one generation interval.
    """
    return timedelta(seconds=conf_validity_s + conf_generation_s)


def prepare_next_key(token: SoftwareToken, pin: str, instance: str, at: datetime, *,
                     issue: CertIssuer | None = None, kind: Literal["ec", "rsa"] = "ec",
                     ) -> x509.Certificate:
    """Generate the next signing key; it is announced from the next publication on."""
    require_aware(at)
    if token.cert_path(NEXT_CONF_SIGNING_LABEL).exists():  # a key alone was never announced
        raise ConfKeyError("a next configuration signing key is prepared already; activate "
                           "or discard it first")
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=3072) if kind == "rsa"
        else ec.generate_private_key(ec.SECP256R1()))
    chain = (issue or _self_signed(instance, key))(key.public_key(), at)
    if chain[0].public_key() != key.public_key():
        raise ConfKeyError("the issued certificate is not for the new key")
    token.store_key(NEXT_CONF_SIGNING_LABEL, key, pin)
    _write_atomically(token.directory / (NEXT_CONF_SIGNING_LABEL + _PREPARED_SUFFIX),
                      json.dumps({"prepared_at": at.isoformat()}).encode())
    _write_atomically(token.cert_path(NEXT_CONF_SIGNING_LABEL),  # last: announced from now on
                      b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain))
    return chain[0]


def next_key(token: SoftwareToken) -> NextKey | None:
    """The prepared (announced) next key, if any."""
    chain = token.chain_of(NEXT_CONF_SIGNING_LABEL)
    if not chain:
        return None
    marker = token.directory / (NEXT_CONF_SIGNING_LABEL + _PREPARED_SUFFIX)
    try:
        prepared_at = datetime.fromisoformat(json.loads(marker.read_bytes())["prepared_at"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ConfKeyError(f"cannot tell when the next key was prepared ({marker}): {e}") from e
    return NextKey(chain[0], require_aware(prepared_at))


def activate_next_key(token: SoftwareToken, at: datetime, *,
                      min_announcement: timedelta) -> x509.Certificate:
    """Switch to the prepared key; the current one is retired (kept in the token, no longer
    announced). Refused if it was prepared less than `min_announcement` ago
    (`announcement_period()`; `timedelta(0)` forces the switch, at the risk of servers that
    have not seen the announcement refusing every configuration until they get a new anchor).
    In a token without a current key (a new instance) the prepared key becomes the first one.
    """
    require_aware(at)
    prepared = next_key(token)
    if prepared is None:
        raise ConfKeyError("no next configuration signing key is prepared")
    first = not token.key_path(CONF_SIGNING_LABEL).exists()  # a new instance's first key
    if not first and at - prepared.prepared_at < min_announcement:
        raise ConfKeyError(
            f"the next key was prepared at {prepared.prepared_at.isoformat()}; it must be "
            f"announced for {min_announcement} before it may sign (security servers learn it "
            f"from global configuration)")
    if not first:
        retired = RETIRED_PREFIX + at.strftime("%Y%m%dT%H%M%S%fZ")
        for path in (token.key_path, token.cert_path):
            shutil.copy2(path(CONF_SIGNING_LABEL), path(retired))
    # Key first, then certificate: a reader in between sees a mismatch and skips a round.
    os.replace(token.key_path(NEXT_CONF_SIGNING_LABEL), token.key_path(CONF_SIGNING_LABEL))
    os.replace(token.cert_path(NEXT_CONF_SIGNING_LABEL), token.cert_path(CONF_SIGNING_LABEL))
    (token.directory / (NEXT_CONF_SIGNING_LABEL + _PREPARED_SUFFIX)).unlink(missing_ok=True)
    return prepared.certificate


def discard_next_key(token: SoftwareToken) -> None:
    """Withdraw the prepared key: it is no longer announced, security servers drop it."""
    paths = (token.cert_path(NEXT_CONF_SIGNING_LABEL),  # first: no longer announced
             token.key_path(NEXT_CONF_SIGNING_LABEL),
             token.directory / (NEXT_CONF_SIGNING_LABEL + _PREPARED_SUFFIX))
    if not any(p.exists() for p in paths):
        raise ConfKeyError("no next configuration signing key is prepared")
    for path in paths:
        path.unlink(missing_ok=True)


def anchor_for(token: SoftwareToken, instance: str, download_url: str) -> ConfigurationAnchor:
    """The configuration anchor to hand to a new security server: the current key and any
    announced next key, so it keeps working across a switch that is under way."""
    certs = [token.chain_of(CONF_SIGNING_LABEL)[0]]
    if (prepared := next_key(token)) is not None:
        certs.append(prepared.certificate)
    return ConfigurationAnchor(instance, download_url, tuple(certs))


@dataclass
class TokenConfKeys:
    """`ConfKeySource` over the central server's token: re-read at every publication."""

    token: SoftwareToken
    pin: str = field(repr=False)
    _signer: SoftwareSigner | None = field(default=None, init=False, repr=False)

    def signing_keys(self) -> ConfSigningKeys:
        chain = self.token.chain_of(CONF_SIGNING_LABEL)
        if not chain:
            raise ConfKeyError(f"no configuration signing key in {self.token.directory}")
        if self._signer is None or self._signer.chain != chain:
            signer = self.token.unlock(CONF_SIGNING_LABEL, self.pin)
            if signer.certificate.public_key() != signer.private_key.public_key():
                raise ConfKeyError("the configuration signing key does not match its "
                                   "certificate (a switch under way?)")
            self._signer = signer
        prepared = self.token.chain_of(NEXT_CONF_SIGNING_LABEL)
        return ConfSigningKeys(self._signer, prepared[:1])


def _self_signed(instance: str, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
                 ) -> CertIssuer:
    def issue(public_key: CertificatePublicKeyTypes, at: datetime) -> list[x509.Certificate]:
        name = x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, instance),
            x509.NameAttribute(NameOID.COMMON_NAME,
                               f"{instance} central server configuration signing"),
        ])
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(public_key).serial_number(x509.random_serial_number())
                .not_valid_before(at - timedelta(minutes=5))
                .not_valid_after(at + timedelta(days=_SELF_SIGNED_DAYS))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(
                    digital_signature=True, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=False,
                    crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
                .sign(key, hashes.SHA512()))
        return [cert]
    return issue


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
