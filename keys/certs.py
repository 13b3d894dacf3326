"""Certificate helpers for tokens and the dev PKI."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from xroad.signing.profile import member_of_signing_cert, member_subject

__all__ = ["cert_sha256", "member_of_signing_cert", "member_subject", "pem"]


def cert_sha256(cert: x509.Certificate) -> str:
    """Hex SHA-256 of the DER certificate, as global configuration registers auth certificates."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def pem(certs: Iterable[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
