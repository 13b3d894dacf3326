"""Verify an RFC 3161 time-stamp token against a digest and trusted CAs. Pure: bytes and time.

A token proves that a digest existed at `genTime` only if every link holds: the TSA's key
signed the signed attributes, whose message-digest covers the exact TSTInfo bytes, whose
messageImprint is our digest; and the signing-certificate attribute names the certificate we
checked, so a certificate with the same key but other attributes cannot be swapped in.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from asn1crypto import cms, core, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from xroad.clock import require_aware
from xroad.errors import MalformedSignature, VerificationError
from xroad.signing.certpath import verify_chain

# Digest algorithms accepted for message imprints, CMS digests and ESSCertIDs.
HASHES: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}
# signing-certificate (v1, RFC 2634) identifies the certificate by SHA-1.
_ESS_HASHES: Final[dict[str, type[hashes.HashAlgorithm]]] = {**HASHES, "sha1": hashes.SHA1}
DEFAULT_SKEW: Final = timedelta(seconds=60)


class TimestampError(VerificationError):
    """The time-stamp token does not prove the digest existed at its time."""


class TimestampRejected(TimestampError):
    """The TSA answered, but did not grant a time-stamp."""


class TimeStampResp(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    """RFC 3161 TimeStampResp; asn1crypto's own marks the OPTIONAL token as required."""

    _fields: Final = [("status", tsp.PKIStatusInfo),
                      ("time_stamp_token", cms.ContentInfo, {"optional": True})]


def token_from_reply(reply_der: bytes, data_digest: bytes, nonce: int | None) -> bytes:
    """The token DER from a TimeStampResp, if granted for `data_digest` with our `nonce`.

    The nonce ties the reply to our query (RFC 3161 §2.4.2); the full trust check is
    `verify_timestamp`.
    """
    try:
        reply = TimeStampResp.load(reply_der, strict=True)
        status = reply["status"]
        if status["status"].native not in ("granted", "granted_with_mods"):
            text = "; ".join(status["status_string"].native or [])
            raise TimestampRejected(
                f"TSA rejected the query: {status['status'].native}, "
                f"failInfo {sorted(status['fail_info'].native or [])} {text}".rstrip())
        token = reply["time_stamp_token"]
        tst_info = tsp.TSTInfo.load(token["content"]["encap_content_info"]["content"].contents)
        imprint = tst_info["message_imprint"]["hashed_message"].native
        reply_nonce = tst_info["nonce"].native
    except (ValueError, TypeError, KeyError) as e:
        raise MalformedSignature("time-stamp reply cannot be parsed") from e
    if reply_nonce != nonce:
        raise TimestampError("time-stamp reply does not carry our nonce")
    if not hmac.compare_digest(imprint, data_digest):
        raise TimestampError("time-stamp reply is for other data (messageImprint mismatch)")
    token_der: bytes = token.dump()
    return token_der


@dataclass(frozen=True, slots=True)
class _Token:
    signer_info: Any  # cms.SignerInfo
    certificates: list[x509.Certificate]
    tst_info_der: bytes
    tst_info: Any  # tsp.TSTInfo


def _digest(name: str, data: bytes, table: dict[str, type[hashes.HashAlgorithm]] = HASHES
            ) -> bytes:
    if name not in table:
        raise TimestampError(f"unsupported digest algorithm {name!r}")
    h = hashes.Hash(table[name]())
    h.update(data)
    return h.finalize()


def _parse(token_der: bytes) -> _Token:
    try:
        info = cms.ContentInfo.load(token_der, strict=True)
        if info["content_type"].native != "signed_data":
            raise TimestampError("time-stamp token is not CMS SignedData")
        signed = info["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].native != "tst_info":
            raise TimestampError("time-stamp token does not encapsulate a TSTInfo")
        tst_info_der = encap["content"].contents
        tst_info = tsp.TSTInfo.load(tst_info_der, strict=True)
        tst_info.native  # noqa: B018  # parse everything now, inside this try
        if len(signed["signer_infos"]) != 1:
            raise TimestampError("time-stamp token must have exactly one signer")
        certs = [x509.load_der_x509_certificate(c.chosen.dump())
                 for c in signed["certificates"] or [] if c.name == "certificate"]
        return _Token(signed["signer_infos"][0], certs, tst_info_der, tst_info)
    except (ValueError, TypeError, KeyError) as e:
        raise MalformedSignature("time-stamp token cannot be parsed") from e


def _find_signer(token: _Token, trusted: Sequence[x509.Certificate]) -> x509.Certificate:
    sid = token.signer_info["sid"]
    for cert in [*token.certificates, *trusted]:
        if sid.name == "issuer_and_serial_number":
            if (cert.serial_number == sid.chosen["serial_number"].native
                    and cert.issuer.public_bytes() == sid.chosen["issuer"].dump()):
                return cert
        else:
            try:
                ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            except x509.ExtensionNotFound:
                continue
            if ski.value.digest == sid.chosen.native:
                return cert
    raise TimestampError("the TSA certificate is not in the token")


def _attribute(signer_info: Any, name: str) -> Any:
    values = [a["values"] for a in signer_info["signed_attrs"] if a["type"].native == name]
    if len(values) != 1 or len(values[0]) != 1:
        raise TimestampError(f"time-stamp token needs exactly one {name} attribute")
    return values[0][0]


def _check_signing_certificate(signer_info: Any, cert: x509.Certificate) -> None:
    der = cert.public_bytes(serialization.Encoding.DER)
    names = {a["type"].native for a in signer_info["signed_attrs"]}
    if "signing_certificate_v2" in names:
        ids = _attribute(signer_info, "signing_certificate_v2")["certs"]
        algorithm = ids[0]["hash_algorithm"]["algorithm"].native
    elif "signing_certificate" in names:
        ids = _attribute(signer_info, "signing_certificate")["certs"]
        algorithm = "sha1"
    else:
        raise TimestampError("time-stamp token has no signing-certificate attribute")
    if not ids or ids[0]["cert_hash"].native != _digest(algorithm, der, _ESS_HASHES):
        raise TimestampError("signing-certificate attribute names another certificate")


def _check_signature(signer_info: Any, cert: x509.Certificate) -> None:
    # The signature covers the DER SET OF the attributes as received (implicit [0] -> SET).
    signed_attrs = b"\x31" + signer_info["signed_attrs"].dump()[1:]
    digest_name = signer_info["digest_algorithm"]["algorithm"].native
    if digest_name not in HASHES:
        raise TimestampError(f"unsupported digest algorithm {digest_name!r}")
    algorithm = HASHES[digest_name]()
    key = cert.public_key()
    signature = signer_info["signature"].native
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed_attrs, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, signed_attrs, ec.ECDSA(algorithm))
        else:
            raise TimestampError(f"unsupported TSA key {type(key).__name__}")
    except _CryptoInvalidSignature as e:
        raise TimestampError("time-stamp token signature does not verify") from e


def _check_tsa_cert(cert: x509.Certificate, intermediates: Sequence[x509.Certificate],
                    trusted: Sequence[x509.Certificate], at: datetime) -> None:
    verify_chain(cert, intermediates, trusted, at)
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound as e:
        raise TimestampError("TSA certificate has no extended key usage") from e
    if list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING] or not eku.critical:
        raise TimestampError("TSA certificate is not for time-stamping only (RFC 3161 §2.3)")


def verify_timestamp(token_der: bytes, data_digest: bytes,
                     trusted: Sequence[x509.Certificate], at: datetime, *,
                     skew: timedelta = DEFAULT_SKEW) -> datetime:
    """Return the token's genTime if it time-stamps `data_digest` (SHA-256/384/512 bytes).

    Raises `TimestampError` (or `CertificateError` for the TSA's chain), all `VerificationError`.
    """
    require_aware(at)
    token = _parse(token_der)
    signer_info = token.signer_info
    try:
        cert = _find_signer(token, trusted)
        if _attribute(signer_info, "content_type").native != "tst_info":
            raise TimestampError("content-type attribute is not id-ct-TSTInfo")
        expected = _digest(signer_info["digest_algorithm"]["algorithm"].native,
                           token.tst_info_der)
        if not hmac.compare_digest(_attribute(signer_info, "message_digest").native, expected):
            raise TimestampError("message-digest attribute does not match the TSTInfo")
        _check_signing_certificate(signer_info, cert)
        _check_signature(signer_info, cert)
        imprint = token.tst_info["message_imprint"]
        imprint_alg = imprint["hash_algorithm"]["algorithm"].native
        gen_time: datetime = token.tst_info["gen_time"].native.astimezone(UTC)
    except (ValueError, TypeError, KeyError) as e:
        raise MalformedSignature("time-stamp token cannot be parsed") from e
    _check_tsa_cert(cert, token.certificates, trusted, at)
    if (imprint_alg not in HASHES or len(data_digest) != HASHES[imprint_alg]().digest_size
            or not hmac.compare_digest(imprint["hashed_message"].native, data_digest)):
        raise TimestampError("time-stamp is for other data (messageImprint mismatch)")
    if gen_time > at + skew:
        raise TimestampError(f"time-stamp genTime {gen_time.isoformat()} is in the future")
    return gen_time
