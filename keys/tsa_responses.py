"""Answer RFC 3161 time-stamp queries: TimeStampReq bytes in, TimeStampResp bytes out.

HTTP lives in `keys.services.tsa_server`. Whatever arrives, the answer is a TimeStampResp: a
malformed or unacceptable query gets PKIStatus `rejection` with a failInfo bit saying why, so a
client never has to interpret a stack trace. The token's signed attributes follow RFC 5816
(signing-certificate-v2 with ESSCertIDv2), which `openssl ts -verify` checks.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

import structlog
from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from keys.token import SoftwareSigner
from xroad.clock import require_aware
from xroad.signing.timestamp import HASHES, TimeStampResp

log = structlog.get_logger(__name__)

# The dev TSA's policy: a UUID-derived OID (ITU-T X.667, arc 2.25), unique without registering
# a private enterprise number. A country's real TSA has its own policy OID; never reuse this.
DEV_TSA_POLICY: Final = "2.25.254517882714158476672273504333629430580"
MAX_QUERY_BYTES: Final = 16 * 1024

FailInfo = Literal["bad_alg", "bad_request", "bad_data_format", "unaccepted_policy",
                   "unaccepted_extensions", "system_failure"]


@dataclass(frozen=True, slots=True)
class TsaReply:
    der: bytes
    granted: bool


class _Rejected(Exception):
    """Control flow inside this module only: becomes a `rejection` reply."""

    def __init__(self, fail_info: FailInfo, text: str) -> None:
        super().__init__(text)
        self.fail_info = fail_info


def _random_serial() -> int:
    return secrets.randbits(64)


def reject(fail_info: FailInfo, text: str) -> TsaReply:
    """A TimeStampResp with status `rejection`, for queries the TSA will not stamp."""
    log.info("tsa.rejected", fail_info=fail_info, reason=text)
    status = tsp.PKIStatusInfo({"status": "rejection", "status_string": [text],
                                "fail_info": tsp.PKIFailureInfo({fail_info})})
    return TsaReply(TimeStampResp({"status": status}).dump(), granted=False)


def _parse_query(query_der: bytes, policy: str) -> Any:
    if len(query_der) > MAX_QUERY_BYTES:
        raise _Rejected("bad_data_format", "time-stamp query too large")
    try:
        query = tsp.TimeStampReq.load(query_der, strict=True)
        query.native  # noqa: B018  # parse everything now, inside this try
    except (ValueError, TypeError, KeyError) as e:
        raise _Rejected("bad_data_format", "time-stamp query cannot be parsed") from e
    if query["version"].native != "v1":
        raise _Rejected("bad_data_format", "only TimeStampReq version 1 is supported")
    imprint = query["message_imprint"]
    algorithm = imprint["hash_algorithm"]["algorithm"].native
    if algorithm not in HASHES:
        raise _Rejected("bad_alg", f"hash algorithm {algorithm} is not accepted")
    if len(imprint["hashed_message"].native) != HASHES[algorithm]().digest_size:
        raise _Rejected("bad_data_format", "hashed message length does not match its algorithm")
    if query["req_policy"].native not in (None, policy):
        raise _Rejected("unaccepted_policy", f"this TSA stamps only under policy {policy}")
    if query["extensions"].native:
        raise _Rejected("unaccepted_extensions", "no extensions are supported")
    return query


def _sign(key: object, data: bytes) -> tuple[str, bytes]:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "sha256_ecdsa", key.sign(data, ec.ECDSA(hashes.SHA256()))
    if isinstance(key, rsa.RSAPrivateKey):
        return "sha256_rsa", key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    raise TypeError(f"unsupported TSA key {type(key).__name__}")


@dataclass(frozen=True)
class TimeStampAuthority:
    """Stamps digests with `signer` (a certificate with critical EKU timeStamping)."""

    signer: SoftwareSigner
    policy: str = DEV_TSA_POLICY
    serials: Callable[[], int] = field(default=_random_serial)

    def respond(self, query_der: bytes, now: datetime) -> TsaReply:
        """Grant a token at `now` (whole seconds, accuracy 1 s) or reject the query."""
        require_aware(now)
        try:
            query = _parse_query(query_der, self.policy)
        except _Rejected as e:
            return reject(e.fail_info, str(e))
        serial = self.serials()
        token = self._token(query, now.astimezone(UTC).replace(microsecond=0), serial)
        log.info("tsa.granted", serial=f"{serial:X}")
        status = tsp.PKIStatusInfo({"status": "granted"})
        return TsaReply(TimeStampResp({"status": status, "time_stamp_token": token}).dump(),
                        granted=True)

    def _issuers(self) -> list[cms.CertificateChoices]:
        """The chain above the TSA certificate, without a self-signed root: verifiers that
        trust only the root can still build the path."""
        return [cms.CertificateChoices({"certificate": asn1_x509.Certificate.load(
                    c.public_bytes(serialization.Encoding.DER))})
                for c in self.signer.chain[1:] if c.issuer != c.subject]

    def _token(self, query: Any, gen_time: datetime, serial: int) -> cms.ContentInfo:
        tst_info = tsp.TSTInfo({
            "version": "v1",
            "policy": self.policy,
            "message_imprint": query["message_imprint"],
            "serial_number": serial,
            "gen_time": gen_time,
            "accuracy": {"seconds": 1},
            "nonce": query["nonce"].native,
        }).dump()
        cert_der = self.signer.certificate.public_bytes(serialization.Encoding.DER)
        cert = asn1_x509.Certificate.load(cert_der)
        signed_attrs = cms.CMSAttributes([
            {"type": "content_type", "values": ["tst_info"]},
            {"type": "signing_time", "values": [cms.Time({"utc_time": gen_time})]},
            {"type": "message_digest", "values": [hashlib.sha256(tst_info).digest()]},
            {"type": "signing_certificate_v2", "values": [{"certs": [{
                "cert_hash": hashlib.sha256(cert_der).digest(),
                "issuer_serial": {
                    "issuer": [asn1_x509.GeneralName({"directory_name": cert.issuer})],
                    "serial_number": cert.serial_number}}]}]},
        ])
        signature_algorithm, signature = _sign(self.signer.private_key, signed_attrs.dump())
        signer_info = cms.SignerInfo({
            "version": "v1",
            "sid": cms.SignerIdentifier({"issuer_and_serial_number": {
                "issuer": cert.issuer, "serial_number": cert.serial_number}}),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "signed_attrs": signed_attrs,
            "signature_algorithm": algos.SignedDigestAlgorithm(
                {"algorithm": signature_algorithm}),
            "signature": signature,
        })
        certificates = ([cms.CertificateChoices({"certificate": cert}), *self._issuers()]
                        if query["cert_req"].native else None)
        signed_data = cms.SignedData({
            "version": "v3",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
            "encap_content_info": {"content_type": "tst_info",
                                   "content": core.ParsableOctetString(tst_info)},
            "certificates": certificates,
            "signer_infos": [signer_info],
        })
        return cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
