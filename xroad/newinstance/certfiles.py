"""Certificates an operator imports into a new instance: the country's CAs and TSAs (pure).

Refused early and by file name, since a wrong file here (a leaf instead of the CA, a TLS
certificate instead of the TSA's) would only show later as every exchange failing.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

__all__ = ["CertFile", "ca_certificates", "cert_name", "tsa_certificate"]


@dataclass(frozen=True, slots=True)
class CertFile:
    name: str  # as the operator gave it, for messages
    data: bytes


def cert_name(cert: x509.Certificate) -> str:
    """The subject's common name (the whole subject if it has none), for messages and lists."""
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


def _load(file: CertFile) -> tuple[x509.Certificate, ...]:
    try:
        if b"-----BEGIN" in file.data:
            certs = tuple(x509.load_pem_x509_certificates(file.data))
        else:
            certs = (x509.load_der_x509_certificate(file.data),)
    except ValueError as e:
        raise ValueError(f"{file.name}: not a PEM or DER certificate ({e})") from e
    if not certs:
        raise ValueError(f"{file.name}: holds no certificate")
    return certs


def ca_certificates(file: CertFile) -> tuple[x509.Certificate, ...]:
    """Every certificate in `file`, each a CA certificate (a root and its intermediates)."""
    certs = _load(file)
    for cert in certs:
        try:
            is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if not is_ca:
            raise ValueError(f"{file.name}: {cert.subject.rfc4514_string()} is not a CA "
                             f"certificate (basicConstraints cA is not set)")
    return certs


def tsa_certificate(file: CertFile) -> tuple[x509.Certificate, ...]:
    """The one certificate in `file`, a time-stamping authority's (RFC 3161 §2.3)."""
    certs = _load(file)
    if len(certs) != 1:
        raise ValueError(f"{file.name}: give only the TSA's own certificate ({len(certs)} found)")
    try:
        usages = certs[0].extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usages = x509.ExtendedKeyUsage([])
    if ExtendedKeyUsageOID.TIME_STAMPING not in usages:
        raise ValueError(f"{file.name}: {certs[0].subject.rfc4514_string()} is not a "
                         f"time-stamping certificate (no timeStamping extended key usage)")
    return certs
