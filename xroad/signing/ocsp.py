"""Is this OCSP response (RFC 6960) proof that a certificate is good at `at`? Pure: bytes and time.

X-Road embeds a responder's answer in every signature; the receiver accepts it only while
`producedAt` is within the freshness window (`ocspFreshnessSeconds`, default 3600 s) and
`nextUpdate` has not passed. The responder must be the issuing CA itself or a delegate that the
issuer certified for OCSPSigning, otherwise any key could vouch for a revoked certificate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from xroad.clock import require_aware
from xroad.errors import CertificateError
from xroad.signing.certpath import verify_chain

DEFAULT_FRESHNESS_S = 3600
DEFAULT_SKEW = timedelta(seconds=60)


class OcspError(CertificateError):
    """The OCSP response does not prove that the certificate is good."""


class CertificateRevoked(OcspError):
    """The responder says the certificate is revoked."""


class CertificateStatusUnknown(OcspError):
    """The responder does not know the certificate (not issued by its CA, as far as it knows)."""


class StaleOcspResponse(OcspError):
    """The response is too old, expired, or from the future (a skewed clock somewhere)."""


def public_key_bits(cert: x509.Certificate) -> bytes:
    """The subjectPublicKey BIT STRING contents, which CertID and ResponderID hash."""
    parsed = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    return bytes(parsed.public_key["public_key"])


def _digest(algorithm: hashes.HashAlgorithm, data: bytes) -> bytes:
    h = hashes.Hash(algorithm)
    h.update(data)
    return h.finalize()


def issuer_hashes(issuer: x509.Certificate, algorithm: hashes.HashAlgorithm
                  ) -> tuple[bytes, bytes]:
    """(issuerNameHash, issuerKeyHash) of a CertID naming `issuer`."""
    return (_digest(algorithm, issuer.subject.public_bytes()),
            _digest(algorithm, public_key_bits(issuer)))


def _matches(single: ocsp.OCSPSingleResponse, cert: x509.Certificate,
             issuer: x509.Certificate) -> bool:
    try:
        expected = issuer_hashes(issuer, single.hash_algorithm)
    except UnsupportedAlgorithm:
        return False
    return (single.serial_number == cert.serial_number
            and (single.issuer_name_hash, single.issuer_key_hash) == expected)


def _responder_cert(response: ocsp.OCSPResponse, issuer: x509.Certificate
                    ) -> x509.Certificate:
    candidates = [issuer, *response.certificates]
    key_hash = response.responder_key_hash
    for cand in candidates:
        if key_hash is not None:
            if hashlib.sha1(public_key_bits(cand)).digest() == key_hash:  # noqa: S324  # RFC 6960
                return cand
        elif cand.subject == response.responder_name:
            return cand
    raise OcspError("OCSP responder certificate is not in the response")


def _check_authorised(responder: x509.Certificate, issuer: x509.Certificate,
                      at: datetime) -> None:
    """RFC 6960 §4.2.2.2: the CA itself, or a delegate it issued with EKU OCSPSigning."""
    if responder == issuer:
        return
    name = responder.subject.rfc4514_string()
    try:
        responder.verify_directly_issued_by(issuer)
        eku = responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except (_CryptoInvalidSignature, ValueError, TypeError, x509.ExtensionNotFound) as e:
        raise OcspError(f"OCSP responder '{name}' is not authorised by the issuer") from e
    if ExtendedKeyUsageOID.OCSP_SIGNING not in eku:
        raise OcspError(f"OCSP responder '{name}' is not authorised for OCSPSigning")
    if not responder.not_valid_before_utc <= at <= responder.not_valid_after_utc:
        raise OcspError(f"OCSP responder certificate '{name}' is not valid now")


def _check_signature(response: ocsp.OCSPResponse, responder: x509.Certificate) -> None:
    key = responder.public_key()
    data, signature = response.tbs_response_bytes, response.signature
    try:
        algorithm = response.signature_hash_algorithm
        if isinstance(key, rsa.RSAPublicKey) and algorithm is not None:
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey) and algorithm is not None:
            key.verify(signature, data, ec.ECDSA(algorithm))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        else:
            raise OcspError(f"unsupported OCSP responder key {type(key).__name__}")
    except (_CryptoInvalidSignature, UnsupportedAlgorithm, ValueError) as e:
        raise OcspError("OCSP response signature does not verify") from e


def _check_times(single: ocsp.OCSPSingleResponse, produced_at: datetime, at: datetime,
                 freshness: timedelta, skew: timedelta) -> None:
    if produced_at < at - freshness:
        raise StaleOcspResponse(
            f"OCSP response produced at {produced_at.isoformat()} is older than "
            f"{int(freshness.total_seconds())} s")
    next_update = single.next_update_utc
    if next_update is not None and next_update < at:
        raise StaleOcspResponse(f"OCSP response expired at {next_update.isoformat()}")
    for label, when in (("thisUpdate", single.this_update_utc), ("producedAt", produced_at)):
        if when > at + skew:
            raise StaleOcspResponse(f"OCSP response {label} {when.isoformat()} is in the future")


def _check_status(single: ocsp.OCSPSingleResponse, cert: x509.Certificate) -> None:
    subject = cert.subject.rfc4514_string()
    if single.certificate_status == ocsp.OCSPCertStatus.REVOKED:
        when = single.revocation_time_utc
        reason = single.revocation_reason
        raise CertificateRevoked(
            f"certificate '{subject}' was revoked at {when.isoformat() if when else '?'}"
            + (f" ({reason.value})" if reason else ""))
    if single.certificate_status != ocsp.OCSPCertStatus.GOOD:
        raise CertificateStatusUnknown(f"OCSP responder does not know certificate '{subject}'")


def check_ocsp(response_der: bytes, cert: x509.Certificate, issuer: x509.Certificate,
               trusted: Sequence[x509.Certificate], at: datetime,
               freshness_s: int = DEFAULT_FRESHNESS_S, *, skew: timedelta = DEFAULT_SKEW
               ) -> None:
    """Return only if `response_der` is a fresh, authorised answer saying `cert` is good.

    `issuer` must have issued `cert` and chain to `trusted` at `at`: otherwise a forged issuer
    could bring its own responder. A delegated responder is not itself checked for revocation
    (its certificate carries id-pkix-ocsp-nocheck in the dev PKI, as is usual).
    """
    require_aware(at)
    try:
        cert.verify_directly_issued_by(issuer)
    except (_CryptoInvalidSignature, ValueError, TypeError) as e:
        raise OcspError("the OCSP issuer did not issue the certificate") from e
    verify_chain(issuer, [], trusted, at)
    try:
        response = ocsp.load_der_ocsp_response(response_der)
    except ValueError as e:
        raise OcspError("malformed OCSP response") from e
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise OcspError(f"OCSP response status is {response.response_status.name}")
    single = next((s for s in response.responses if _matches(s, cert, issuer)), None)
    if single is None:
        raise OcspError("OCSP response is not about this certificate (CertID mismatch)")
    responder = _responder_cert(response, issuer)
    _check_authorised(responder, issuer, at)
    _check_signature(response, responder)
    _check_times(single, response.produced_at_utc, at, timedelta(seconds=freshness_s), skew)
    _check_status(single, cert)


def good_until(response_der: bytes, freshness_s: int) -> datetime:
    """When an accepted response stops being acceptable: stale after `freshness_s`, or at
    `nextUpdate` if that comes first. Call only on a response `check_ocsp` accepted."""
    response = ocsp.load_der_ocsp_response(response_der)
    until = response.produced_at_utc + timedelta(seconds=freshness_s)
    next_update = response.next_update_utc
    return min(until, next_update) if next_update is not None else until
