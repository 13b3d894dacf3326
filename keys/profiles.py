"""Key records shared by both token kinds: purpose, listing entry, and subject profile.

A key's purpose (signing for a member, or TLS authentication for a security server) is
recorded next to the key when it is generated, so a CSR made later needs only the key's label.
The subject DN rules belong to the country's CA (X-Road's "certificate profile"): a
`SubjectProfile` maps identifiers to names, and `XRoadSubjectProfile` is the default.

Only the forward direction is pluggable here. Verifiers read the member back from a signing
certificate with `xroad.signing.profile.member_of_signing_cert` (the `serialNumber` attribute),
so a profile must keep that attribute for signing certificates to be usable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal, Protocol

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from xroad.errors import CertificateError, InvalidMessage, XRoadError
from xroad.identifiers import ClientId, SecurityServerId
from xroad.signing.profile import member_of_signing_cert, member_subject
from xroad.signing.signer import SignatureAlgorithm, algorithm_for

__all__ = ["DEFAULT_PROFILE", "MIN_RSA_BITS", "KeyAlgorithm", "KeyEntry", "KeyPurpose", "KeyUsage",
           "SubjectProfile", "TokenError", "XRoadSubjectProfile", "check_label", "leaf_first",
           "subject_for"]

KeyAlgorithm = Literal["ec", "rsa"]  # P-256 or RSA (2048 bits or more), as X-Road 7.6+ offers
MIN_RSA_BITS = 2048

_LABEL = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")


class TokenError(XRoadError):
    """A token, or a key in it, cannot be used as asked (missing, duplicate, refused)."""


def check_label(label: str) -> str:
    """Refuse labels that could escape a token directory or confuse a device's object search."""
    if not _LABEL.fullmatch(label):
        raise InvalidMessage(f"invalid key label {label!r}: use up to 64 of A-Z a-z 0-9 . _ -")
    return label


def leaf_first(public_key: PublicKeyTypes, certs: Iterable[x509.Certificate]
               ) -> tuple[x509.Certificate, ...]:
    """Order `certs` as leaf (the one for `public_key`), issuer, issuer's issuer, ...

    Devices and PEM bundles keep no reliable order; certificates that link to nothing are
    kept at the end rather than dropped. Empty when no certificate is for `public_key`.
    """
    pool = list(dict.fromkeys(certs))
    leaf = next((c for c in pool if c.public_key() == public_key), None)
    if leaf is None:
        return ()
    chain = [leaf]
    pool.remove(leaf)
    while (issuer := next((c for c in pool if c.subject == chain[-1].issuer), None)) is not None:
        chain.append(issuer)
        pool.remove(issuer)
    return (*chain, *pool)


class KeyUsage(StrEnum):
    SIGNING = "sign"
    AUTHENTICATION = "auth"


@dataclass(frozen=True, slots=True)
class KeyPurpose:
    """A key's usage and owner: a member for signing keys, a security server for auth keys."""

    usage: KeyUsage
    owner: ClientId | SecurityServerId

    def __post_init__(self) -> None:
        expected = ClientId if self.usage is KeyUsage.SIGNING else SecurityServerId
        if not isinstance(self.owner, expected):
            raise InvalidMessage(f"a {self.usage} key belongs to a {expected.__name__}")
        if isinstance(self.owner, ClientId) and self.owner.subsystem_code is not None:
            raise InvalidMessage("signing keys belong to members, not subsystems")

    @classmethod
    def signing(cls, member: ClientId) -> KeyPurpose:
        return cls(KeyUsage.SIGNING, member)

    @classmethod
    def authentication(cls, server: SecurityServerId) -> KeyPurpose:
        return cls(KeyUsage.AUTHENTICATION, server)

    def encode(self) -> bytes:
        return json.dumps({"usage": str(self.usage), "owner": str(self.owner)}).encode()

    @classmethod
    def decode(cls, data: bytes) -> KeyPurpose:
        try:
            doc = json.loads(data)
            usage = KeyUsage(doc["usage"])
            owner_text = str(doc["owner"])
        except (KeyError, TypeError, ValueError) as e:
            raise InvalidMessage(f"unreadable key purpose record: {e}") from e
        if usage is KeyUsage.SIGNING:
            return cls.signing(ClientId.parse(owner_text))
        return cls.authentication(SecurityServerId.parse(owner_text))


@dataclass(frozen=True)
class KeyEntry:
    """One key as listed: its purpose may be unknown for keys made by other tools."""

    label: str
    public_key: PublicKeyTypes
    purpose: KeyPurpose | None
    chain: tuple[x509.Certificate, ...]  # leaf first; empty until a certificate is imported

    @property
    def algorithm(self) -> SignatureAlgorithm:
        return algorithm_for(self.public_key)

    @property
    def certificate(self) -> x509.Certificate | None:
        return self.chain[0] if self.chain else None

    @property
    def usage(self) -> KeyUsage | None:
        """As recorded at generation or, for keys stored by other code, read off the certificate."""
        if self.purpose is not None:
            return self.purpose.usage
        cert = self.certificate
        if cert is None:
            return None
        try:
            eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            if {ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH} & set(eku):
                return KeyUsage.AUTHENTICATION
        except x509.ExtensionNotFound:
            pass
        try:
            member_of_signing_cert(cert)
        except CertificateError:
            return None
        return KeyUsage.SIGNING


class SubjectProfile(Protocol):
    """A CA's rules for the subject DN of the certificates it issues to X-Road keys."""

    def signing_subject(self, member: ClientId) -> x509.Name: ...

    def auth_subject(self, server: SecurityServerId) -> x509.Name: ...


@dataclass(frozen=True)
class XRoadSubjectProfile:
    """X-Road's EJBCA-like profile; `country` overrides C when the instance is not a country."""

    country: str | None = None

    def signing_subject(self, member: ClientId) -> x509.Name:
        if self.country is None:
            return member_subject(member)
        return x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, self.country),
            *(a for a in member_subject(member) if a.oid != NameOID.COUNTRY_NAME),
        ])

    def auth_subject(self, server: SecurityServerId) -> x509.Name:
        """C=instance, O=member code, CN=server id: as the dev CA issues auth certificates."""
        return x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, self.country or server.owner.instance[:2]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, server.owner.member_code),
            x509.NameAttribute(NameOID.COMMON_NAME, str(server)),
        ])


DEFAULT_PROFILE: Final = XRoadSubjectProfile()


def subject_for(profile: SubjectProfile, purpose: KeyPurpose) -> x509.Name:
    if isinstance(purpose.owner, ClientId):
        return profile.signing_subject(purpose.owner)
    return profile.auth_subject(purpose.owner)
