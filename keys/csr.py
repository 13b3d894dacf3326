"""The CSR flow of either token kind: generate a key, request its certificate, import it.

The CSR is assembled here (RFC 2986) instead of by `cryptography`'s builder, which needs the
private key object: a PKCS#11 key never leaves its device, so the CertificationRequestInfo is
DER-encoded, signed through the key's `sign`, and wrapped. Both token kinds take that one path.

Importing refuses a certificate that is not for the key (public keys differ), whose chain does
not link, or, for signing keys, that names another member than the key was generated for:
once stored, that certificate would sign messages on the member's behalf.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Protocol

from asn1crypto import algos as asn1_algos
from asn1crypto import core as asn1_core
from asn1crypto import csr as asn1_csr
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from keys.profiles import (
    DEFAULT_PROFILE,
    MIN_RSA_BITS,
    KeyAlgorithm,
    KeyEntry,
    KeyPurpose,
    KeyUsage,
    SubjectProfile,
    TokenError,
    check_label,
    leaf_first,
    subject_for,
)
from keys.token import SoftwareToken
from xroad.errors import CertificateError
from xroad.signing.profile import member_of_signing_cert
from xroad.signing.signer import SignatureAlgorithm, algorithm_for, sign_with_key

__all__ = ["CertificateMismatch", "KeyHandle", "KeyStore", "SoftwareKeyStore", "build_csr",
           "import_certificate", "load_certificates", "request_certificate"]

# RFC 4055 puts an explicit NULL after sha512WithRSAEncryption; RFC 5758 and RFC 8410 omit it.
_ALGORITHM_IDS: dict[SignatureAlgorithm, tuple[str, bool]] = {
    SignatureAlgorithm.RSA_SHA512: ("sha512_rsa", True),
    SignatureAlgorithm.ECDSA_SHA512: ("sha512_ecdsa", False),
    SignatureAlgorithm.ED25519: ("ed25519", False),
}


class CertificateMismatch(CertificateError):
    """The certificate offered for import does not belong to the key or its owner."""


class KeyHandle(Protocol):
    """A key that can sign before it has a certificate (to sign its own CSR)."""

    @property
    def public_key(self) -> PublicKeyTypes: ...

    @property
    def algorithm(self) -> SignatureAlgorithm: ...

    def sign(self, data: bytes) -> bytes: ...


class KeyStore(Protocol):
    """What the CSR flow needs of a token; `SoftwareKeyStore` and `Pkcs11Token` provide it."""

    def entries(self) -> list[KeyEntry]: ...

    def entry(self, label: str) -> KeyEntry: ...

    def generate(self, label: str, purpose: KeyPurpose, algorithm: KeyAlgorithm = "ec",
                 rsa_bits: int = MIN_RSA_BITS) -> KeyEntry: ...

    def key(self, label: str) -> KeyHandle: ...

    def store_certificate(self, label: str, chain: Sequence[x509.Certificate]) -> None: ...


@dataclass(frozen=True)
class _SoftwareKey:
    _key: PrivateKeyTypes = field(repr=False)

    @property
    def public_key(self) -> PublicKeyTypes:
        return self._key.public_key()

    @property
    def algorithm(self) -> SignatureAlgorithm:
        return algorithm_for(self._key)

    def sign(self, data: bytes) -> bytes:
        return sign_with_key(self._key, data)


@dataclass(frozen=True)
class SoftwareKeyStore:
    """A `SoftwareToken` unlocked with its PIN; each key's purpose sits in a JSON file beside it."""

    token: SoftwareToken
    pin: str = field(repr=False)

    def entries(self) -> list[KeyEntry]:
        return [self.entry(label) for label in self.token.labels()]

    def entry(self, label: str) -> KeyEntry:
        public_key = self.token.load_key(label, self.pin).public_key()
        path = self.token.purpose_path(label)
        purpose = KeyPurpose.decode(path.read_bytes()) if path.exists() else None
        return KeyEntry(label, public_key, purpose, self.token.chain_of(label))

    def generate(self, label: str, purpose: KeyPurpose, algorithm: KeyAlgorithm = "ec",
                 rsa_bits: int = MIN_RSA_BITS) -> KeyEntry:
        check_label(label)
        if self.token.key_path(label).exists():
            raise TokenError(f"token {self.token.directory} already has a key {label!r}")
        if existing := self.token.labels():  # one PIN per token: a typo must not start a second
            self.token.load_key(existing[0], self.pin)
        if algorithm == "rsa" and rsa_bits < MIN_RSA_BITS:
            raise TokenError(f"RSA keys need at least {MIN_RSA_BITS} bits")
        key: PrivateKeyTypes = (
            rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
            if algorithm == "rsa" else ec.generate_private_key(ec.SECP256R1()))
        self.token.store_key(label, key, self.pin)
        self.token.purpose_path(label).write_bytes(purpose.encode())
        return self.entry(label)

    def key(self, label: str) -> KeyHandle:
        return _SoftwareKey(self.token.load_key(label, self.pin))

    def store_certificate(self, label: str, chain: Sequence[x509.Certificate]) -> None:
        if not self.token.key_path(label).exists():
            raise TokenError(f"no key {label!r} in token {self.token.directory}")
        self.token.store_certificate(label, list(chain))


def build_csr(key: KeyHandle, subject: x509.Name) -> x509.CertificateSigningRequest:
    """A PKCS#10 request for `subject`, signed by `key` wherever the key lives."""
    info = asn1_csr.CertificationRequestInfo({
        "version": "v1",
        "subject": asn1_x509.Name.load(subject.public_bytes()),
        "subject_pk_info": asn1_keys.PublicKeyInfo.load(key.public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)),
        "attributes": [],
    })
    name, null_parameters = _ALGORITHM_IDS[key.algorithm]
    algorithm = {"algorithm": name}
    if null_parameters:
        algorithm["parameters"] = asn1_core.Null()
    request = asn1_csr.CertificationRequest({
        "certification_request_info": info,
        "signature_algorithm": asn1_algos.SignedDigestAlgorithm(algorithm),
        "signature": key.sign(info.dump()),
    })
    csr = x509.load_der_x509_csr(request.dump())
    if not csr.is_signature_valid:  # a device bug must not reach the CA
        raise TokenError("the token produced a CSR whose signature does not verify")
    return csr


def request_certificate(store: KeyStore, label: str, profile: SubjectProfile = DEFAULT_PROFILE,
                        purpose: KeyPurpose | None = None) -> x509.CertificateSigningRequest:
    """The CSR for key `label`, its subject from `profile` and the key's recorded purpose."""
    purpose = purpose or store.entry(label).purpose
    if purpose is None:
        raise TokenError(f"key {label!r} has no recorded purpose; name its member or server")
    return build_csr(store.key(label), subject_for(profile, purpose))


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Certificates from a PEM bundle or a single DER certificate, as CAs hand them out."""
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError as e:
        raise CertificateError("not a PEM or DER X.509 certificate") from e


def _check_links(chain: Sequence[x509.Certificate]) -> None:
    for child, parent in pairwise(chain):
        if child.issuer != parent.subject:
            raise CertificateMismatch(f"'{parent.subject.rfc4514_string()}' is not part of the "
                                      f"chain of '{chain[0].subject.rfc4514_string()}'")
        try:
            child.verify_directly_issued_by(parent)
        except (InvalidSignature, ValueError, TypeError) as e:
            raise CertificateMismatch(
                f"'{child.subject.rfc4514_string()}' is not signed by its issuer") from e


def _check_owner(cert: x509.Certificate, purpose: KeyPurpose, label: str) -> None:
    if purpose.usage is KeyUsage.SIGNING:
        member = member_of_signing_cert(cert)
        if member != purpose.owner:
            raise CertificateMismatch(
                f"certificate names member {member}, key {label!r} belongs to {purpose.owner}")
    # Authentication certificates are bound to their server by the hash registered in global
    # configuration (`authCertReg`), not by their subject, so there is nothing to compare here.


def import_certificate(store: KeyStore, label: str, certs: Sequence[x509.Certificate],
                       purpose: KeyPurpose | None = None) -> KeyEntry:
    """Store the certificate issued for key `label` (with any CA certificates given with it)."""
    entry = store.entry(label)
    chain = leaf_first(entry.public_key, certs)
    if not chain:
        raise CertificateMismatch(f"no certificate given is for key {label!r}: "
                                  "its public key differs")
    _check_links(chain)
    purpose = purpose or entry.purpose
    if purpose is None:
        raise TokenError(f"key {label!r} has no recorded purpose; name its member or server")
    _check_owner(chain[0], purpose, label)
    store.store_certificate(label, chain)
    return store.entry(label)
