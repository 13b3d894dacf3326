"""The `Signer` seam and signature algorithms; verification needs only bytes and a certificate."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from xroad.errors import InvalidSignature, MalformedSignature


class SignatureAlgorithm(StrEnum):
    """Names as in Java/X-Road (`SHA512withRSA`), one per key kind we accept."""

    RSA_SHA512 = "SHA512withRSA"
    ECDSA_SHA512 = "SHA512withECDSA"
    ED25519 = "Ed25519"


class Signer(Protocol):
    """A key that signs on behalf of one member (or the central server); the key never leaves it."""

    @property
    def certificate(self) -> x509.Certificate: ...

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        """The certificate first, then the issuing CAs, as sent along with signatures."""
        ...

    @property
    def algorithm(self) -> SignatureAlgorithm: ...

    def sign(self, data: bytes) -> bytes: ...


def algorithm_for(public_key: object) -> SignatureAlgorithm:
    if isinstance(public_key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return SignatureAlgorithm.RSA_SHA512
    if isinstance(public_key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        return SignatureAlgorithm.ECDSA_SHA512
    if isinstance(public_key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return SignatureAlgorithm.ED25519
    raise MalformedSignature(f"unsupported key type {type(public_key).__name__}")


def sign_with_key(key: object, data: bytes) -> bytes:
    """Sign with a private key object (software tokens; HSM tokens sign inside the device)."""
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA512())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA512()))
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    raise TypeError(f"unsupported private key {type(key).__name__}")


def verify_signature(
    certificate: x509.Certificate, algorithm: str, signature: bytes, data: bytes
) -> None:
    """Raise `InvalidSignature` unless `signature` by `certificate`'s key covers exactly `data`."""
    key = certificate.public_key()
    expected = algorithm_for(key)
    if algorithm != expected:
        raise MalformedSignature(f"algorithm {algorithm!r} does not match the certificate's key")
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA512())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hashes.SHA512()))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
    except _CryptoInvalidSignature as e:
        raise InvalidSignature("signature does not match the signed bytes") from e
