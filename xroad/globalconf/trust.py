"""Which keys may sign this instance's global configuration, and which configuration to act on
(pure: bytes and a time in, a decision out; `refresh.py` does the downloading and the files).

Rules (ADR 0007):

1. Trust starts from the configuration anchor: its verification certificates.
2. A configuration is accepted only if a trusted certificate verifies its signature, it is for
   the anchor's instance and it is not older than the one accepted before (version, then
   generation time): replaying an old one would revive servers and keys removed since.
3. An accepted configuration that is still fresh replaces the trusted set with the key that
   signed it plus the keys it announces (`verification_certs`). So a next key is trusted before
   the central server switches to it, and a key that is neither announced nor the signer is
   dropped. A configuration that announces nothing (an older central server) changes nothing.
4. An expired configuration is kept, to say why traffic stops, but changes no trust: an old
   copy must not be able to bring back a key.
5. The set is bound to the anchor it grew from: installing another anchor starts over from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from xroad.errors import OutdatedGlobalConf
from xroad.globalconf import codec
from xroad.globalconf.anchor import ConfigurationAnchor
from xroad.globalconf.model import GlobalConf
from xroad.messages import untrusted_json as uj

FORMAT: Final = "xroad-bus-trusted-conf-keys/1"


@dataclass(frozen=True, slots=True)
class TrustedKeys:
    """The configuration signing certificates one security server trusts right now."""

    anchor_fingerprint: str  # `ConfigurationAnchor.fingerprint()` of the anchor it grew from
    certs: tuple[x509.Certificate, ...]

    @classmethod
    def from_anchor(cls, anchor: ConfigurationAnchor) -> TrustedKeys:
        return cls(anchor.fingerprint(), anchor.verification_certs)

    @classmethod
    def restore(cls, anchor: ConfigurationAnchor, data: bytes) -> TrustedKeys:
        """The persisted set if it grew from `anchor`, else the anchor's own (rule 5).

        `OutdatedGlobalConf` if `data` is malformed.
        """
        try:
            doc = uj.obj(uj.loads(data))
            if doc["format"] != FORMAT:
                raise ValueError(f"unsupported format {doc['format']!r}")
            grown_from = uj.text(doc, "anchor_sha256")
            certs = tuple(x509.load_pem_x509_certificate(_ascii(c))
                          for c in doc["verification_certs"])
        except (KeyError, TypeError, ValueError) as e:
            raise OutdatedGlobalConf(f"trusted configuration keys are malformed: {e}") from e
        if grown_from != anchor.fingerprint() or not certs:
            return cls.from_anchor(anchor)
        return cls(grown_from, certs)

    def encode(self) -> bytes:
        return json.dumps({
            "format": FORMAT,
            "anchor_sha256": self.anchor_fingerprint,
            "verification_certs": [c.public_bytes(serialization.Encoding.PEM).decode()
                                   for c in self.certs],
        }, indent=1).encode()

    def fingerprints(self) -> tuple[str, ...]:
        return tuple(codec.cert_sha256(c) for c in self.certs)

    def after(self, accepted: codec.SignedConf, at: datetime) -> TrustedKeys:
        """The set once `accepted` (already verified with this set) is acted on (rules 3, 4)."""
        announced = accepted.conf.verification_certs
        if not announced or at >= accepted.conf.expires_at:
            return self
        certs: list[x509.Certificate] = []
        for cert in (accepted.signer, *announced):
            if codec.cert_sha256(cert) not in {codec.cert_sha256(c) for c in certs}:
                certs.append(cert)
        return TrustedKeys(self.anchor_fingerprint, tuple(certs))


def _ascii(value: object) -> bytes:
    if not isinstance(value, str):
        raise ValueError("expected a PEM string")
    return value.encode("ascii")


@dataclass(frozen=True, slots=True)
class Accepted:
    """A configuration to act on, and the trusted keys from now on."""

    signed: codec.SignedConf
    trusted: TrustedKeys

    @property
    def conf(self) -> GlobalConf:
        return self.signed.conf


def accept(signed: bytes, instance: str, trusted: TrustedKeys, current: GlobalConf | None,
           at: datetime) -> Accepted:
    """Verify `signed` with the trusted keys and refuse one older than `current` (rules 2-4).

    Replaying an old configuration would revive a security server whose registration was
    removed, or a signing key that was retired.
    """
    if at.tzinfo is None:
        raise ValueError("naive datetime")
    verified = codec.verify_signed(signed, instance, trusted.certs)
    conf = verified.conf
    if current is not None:
        if conf.version < current.version:
            raise OutdatedGlobalConf(f"refusing global configuration version {conf.version} "
                                     f"older than {current.version}")
        if conf.version == current.version and conf.generated_at < current.generated_at:
            raise OutdatedGlobalConf(
                f"refusing global configuration version {conf.version} generated at "
                f"{conf.generated_at.isoformat()}, older than the copy generated at "
                f"{current.generated_at.isoformat()}")
    return Accepted(verified, trusted.after(verified, at))
