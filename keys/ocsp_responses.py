"""Answer OCSP requests (RFC 6960) for the dev CA from its index of issued certificates.

HTTP lives in `keys.services.ocsp_responder`; this turns request bytes into signed response
bytes. Any request we cannot parse gets `malformedRequest`, one about another CA gets
`unauthorized`: a responder must never sign a status for certificates it cannot vouch for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import structlog
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from keys.issued import CertStatus, IssuedIndex
from keys.token import SoftwareSigner
from xroad.clock import require_aware
from xroad.signing.ocsp import issuer_hashes

log = structlog.get_logger(__name__)

DEFAULT_VALIDITY: Final = timedelta(hours=1)
MAX_REQUEST_BYTES: Final = 16 * 1024
# CertID hashes we answer for; SHA-1 is what most clients (and `openssl ocsp`) send.
_CERT_ID_HASHES: Final = (hashes.SHA1, hashes.SHA256, hashes.SHA384, hashes.SHA512)


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    log.info("ocsp.refused", status=status.name)
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(Encoding.DER)


def malformed_request() -> bytes:
    return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)


def internal_error() -> bytes:
    return _unsuccessful(ocsp.OCSPResponseStatus.INTERNAL_ERROR)


@dataclass(frozen=True)
class OcspResponder:
    """Signs answers about certificates that `issuer` issued, as recorded in `index`."""

    issuer: x509.Certificate
    signer: SoftwareSigner  # certificate with EKU OCSPSigning, issued by `issuer`
    index: IssuedIndex
    validity: timedelta = DEFAULT_VALIDITY

    def respond(self, request_der: bytes, now: datetime) -> bytes:
        """DER OCSPResponse for `request_der`; `thisUpdate` = `now`, `nextUpdate` = now + validity.

        `producedAt` is set by `cryptography` from the system clock when signing.
        """
        require_aware(now)
        if len(request_der) > MAX_REQUEST_BYTES:
            return malformed_request()
        try:
            request = ocsp.load_der_ocsp_request(request_der)
            algorithm = request.hash_algorithm
            serial = request.serial_number
            name_hash, key_hash = request.issuer_name_hash, request.issuer_key_hash
            nonce = _nonce(request)
        except (ValueError, UnsupportedAlgorithm, NotImplementedError):
            return malformed_request()
        if (not isinstance(algorithm, _CERT_ID_HASHES)
                or (name_hash, key_hash) != issuer_hashes(self.issuer, algorithm)):
            return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        return self._sign(name_hash, key_hash, serial, algorithm, nonce, now)

    def _sign(self, name_hash: bytes, key_hash: bytes, serial: int,
              algorithm: hashes.HashAlgorithm, nonce: bytes | None, now: datetime) -> bytes:
        now = now.replace(microsecond=0)
        record = self.index.get(serial)
        status, revoked_at, reason = ocsp.OCSPCertStatus.UNKNOWN, None, None
        if record is not None and record.status == CertStatus.GOOD:
            status = ocsp.OCSPCertStatus.GOOD
        elif record is not None:
            status, revoked_at, reason = (ocsp.OCSPCertStatus.REVOKED, record.revoked_at,
                                          record.reason)
        log.info("ocsp.answered", serial=f"{serial:X}", status=status.name)
        builder = (
            ocsp.OCSPResponseBuilder()
            .add_response_by_hash(name_hash, key_hash, serial, algorithm, status, now,
                                  now + self.validity, revoked_at, reason)
            .responder_id(ocsp.OCSPResponderEncoding.HASH, self.signer.certificate)
            .certificates([self.signer.certificate])
        )
        if nonce is not None:
            builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
        key = self.signer.private_key
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
                          | ed25519.Ed25519PrivateKey):
            raise TypeError(f"unsupported OCSP signing key {type(key).__name__}")
        digest = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
        return builder.sign(key, digest).public_bytes(Encoding.DER)


def _nonce(request: ocsp.OCSPRequest) -> bytes | None:
    """Echo the request's nonce (RFC 8954) so clients that send one, like openssl, are happy."""
    try:
        return request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except x509.ExtensionNotFound:
        return None
