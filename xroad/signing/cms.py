"""Detached CMS SignedData (RFC 5652) over the manifest: standard tools can check our signatures.

`openssl cms -verify -binary -inform DER -in sig.p7s -content manifest.json -CAfile ca.pem`
accepts what `sign_detached` makes. Signed attributes: content-type (data), signing-time,
message-digest (SHA-512 of the content). Pure: bytes in, bytes out; the key stays in the Signer.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from asn1crypto import cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from xroad.errors import InvalidSignature, MalformedSignature
from xroad.signing.signer import SignatureAlgorithm, Signer, verify_signature

_FROM_CMS: Final = {
    "sha512_rsa": SignatureAlgorithm.RSA_SHA512,
    "rsassa_pkcs1v15": SignatureAlgorithm.RSA_SHA512,  # rsaEncryption with a SHA-512 digest
    "sha512_ecdsa": SignatureAlgorithm.ECDSA_SHA512,
    "ed25519": SignatureAlgorithm.ED25519,
}


@dataclass(frozen=True, slots=True)
class CmsSignature:
    signer: x509.Certificate
    certificates: list[x509.Certificate]  # everything the SignedData carries, signer included
    algorithm: SignatureAlgorithm


def _der(tag: int, content: bytes) -> bytes:
    """One DER TLV (definite length)."""
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


_SEQUENCE, _SET, _OCTETS, _UTC_TIME, _GENERALIZED_TIME = 0x30, 0x31, 0x04, 0x17, 0x18
_NULL: Final = b"\x05\x00"


def _oid(dotted: str) -> bytes:
    # Dotted form on purpose: asn1crypto's name maps are extended by other modules at import
    # (asn1crypto.tsp adds tst_info) and must not be frozen early by constants built here.
    encoded: bytes = core.ObjectIdentifier(dotted).dump()
    return encoded


_SIGNED_DATA_OID: Final = _oid("1.2.840.113549.1.7.2")
_DATA_OID: Final = _oid("1.2.840.113549.1.7.1")
_VERSION_1: Final = b"\x02\x01\x01"
_SHA512: Final = _der(_SEQUENCE, _oid("2.16.840.1.101.3.4.2.3") + _NULL)
_CONTENT_TYPE_ATTR: Final = _der(_SEQUENCE, _oid("1.2.840.113549.1.9.3")
                                 + _der(_SET, _DATA_OID))
_SIGNING_TIME_OID: Final = _oid("1.2.840.113549.1.9.5")
_MESSAGE_DIGEST_OID: Final = _oid("1.2.840.113549.1.9.4")
_SIGNATURE_ALGORITHMS: Final = {
    SignatureAlgorithm.RSA_SHA512: _der(_SEQUENCE, _oid("1.2.840.113549.1.1.13") + _NULL),
    SignatureAlgorithm.ECDSA_SHA512: _der(_SEQUENCE, _oid("1.2.840.10045.4.3.4")),
    SignatureAlgorithm.ED25519: _der(_SEQUENCE, _oid("1.3.101.112")),
}


@functools.lru_cache(maxsize=64)
def _signer_constants(certs: tuple[x509.Certificate, ...]) -> tuple[bytes, bytes]:
    """What never changes for one signing certificate and chain: the signer identifier and
    the certificates field (a DER SET OF, so sorted). Computed once per chain."""
    cert_ders = [c.public_bytes(serialization.Encoding.DER) for c in certs]
    leaf = asn1_x509.Certificate.load(cert_ders[0])
    sid = _der(_SEQUENCE, leaf["tbs_certificate"]["issuer"].dump()
               + leaf["tbs_certificate"]["serial_number"].dump())
    return sid, _der(0xA0, b"".join(sorted(cert_ders)))


def _signing_time(at: datetime) -> bytes:
    utc = at.astimezone(UTC)
    if 1950 <= utc.year < 2050:  # RFC 5652 §11.3: UTCTime for these years
        return _der(_UTC_TIME, utc.strftime("%y%m%d%H%M%SZ").encode())
    return _der(_GENERALIZED_TIME, utc.strftime("%Y%m%d%H%M%SZ").encode())


def sign_detached(content: bytes, signer: Signer, chain: Sequence[x509.Certificate],
                  at: datetime) -> bytes:
    """DER ContentInfo(SignedData), assembled directly: it runs once per message, and the
    structure is fixed; `verify_detached` and openssl parse it with full ASN.1 decoders."""
    certs = [signer.certificate, *(c for c in chain if c != signer.certificate)]
    sid, certificates = _signer_constants(tuple(certs))
    attributes = sorted([  # DER SET OF: members in ascending order of their encodings
        _CONTENT_TYPE_ATTR,
        _der(_SEQUENCE, _SIGNING_TIME_OID + _der(_SET, _signing_time(at))),
        _der(_SEQUENCE, _MESSAGE_DIGEST_OID + _der(
            _SET, _der(_OCTETS, hashlib.sha512(content).digest()))),
    ])
    signed_attrs = _der(_SET, b"".join(attributes))
    signature = signer.sign(signed_attrs)  # over the SET, as RFC 5652 §5.4 prescribes
    signer_info = _der(_SEQUENCE, _VERSION_1 + sid + _SHA512
                       + b"\xa0" + signed_attrs[1:]  # [0] IMPLICIT SET OF Attribute
                       + _SIGNATURE_ALGORITHMS[signer.algorithm]
                       + _der(_OCTETS, signature))
    signed_data = _der(_SEQUENCE, _VERSION_1 + _der(_SET, _SHA512)
                       + _der(_SEQUENCE, _DATA_OID)  # detached: no content
                       + certificates + _der(_SET, signer_info))
    return _der(_SEQUENCE, _SIGNED_DATA_OID + _der(0xA0, signed_data))


@functools.lru_cache(maxsize=256)
def _certificate(der: bytes) -> x509.Certificate:
    """Peers send the same few certificates with every message: parse each once, and all of
    it now. cryptography reads fields lazily; a malformed name, key or extension sent by a
    peer must be refused here, not raise a ValueError deep inside a trust decision."""
    try:
        cert = x509.load_der_x509_certificate(der)
        _ = (cert.subject, cert.issuer, cert.public_key(), cert.extensions,
             cert.not_valid_before_utc, cert.not_valid_after_utc, cert.signature_hash_algorithm)
    except (ValueError, TypeError, UnsupportedAlgorithm, x509.InvalidVersion) as e:
        raise MalformedSignature(f"a certificate in the signature is malformed: {e}") from e
    return cert


def _attribute(signer_info: Any, name: str) -> Any:
    values = [a["values"] for a in signer_info["signed_attrs"] if a["type"].native == name]
    if len(values) != 1 or len(values[0]) != 1:
        raise MalformedSignature(f"CMS signature needs exactly one {name} attribute")
    return values[0][0]


def verify_detached(signature_der: bytes, content: bytes) -> CmsSignature:
    """Check that `signature_der` signs exactly `content`; the chain is the caller's to check."""
    try:
        info = cms.ContentInfo.load(signature_der, strict=True)
        if info["content_type"].native != "signed_data":
            raise MalformedSignature("signature is not CMS SignedData")
        signed = info["content"]
        if signed["encap_content_info"]["content"].native is not None:
            raise MalformedSignature("CMS signature must be detached")
        if len(signed["signer_infos"]) != 1:
            raise MalformedSignature("CMS signature must have exactly one signer")
        signer_info = signed["signer_infos"][0]
        certs = [_certificate(c.chosen.dump())
                 for c in signed["certificates"] or [] if c.name == "certificate"]
        sid = signer_info["sid"]
        if sid.name != "issuer_and_serial_number":
            raise MalformedSignature("CMS signer must be named by issuer and serial number")
        serial, issuer = sid.chosen["serial_number"].native, sid.chosen["issuer"].dump()
        digest_name = signer_info["digest_algorithm"]["algorithm"].native
        algorithm_name = signer_info["signature_algorithm"]["algorithm"].native
        content_type = _attribute(signer_info, "content_type").native
        message_digest = _attribute(signer_info, "message_digest").native
        # The signature covers the attributes as received, re-tagged as a SET (RFC 5652 §5.4).
        signed_attrs = b"\x31" + signer_info["signed_attrs"].dump()[1:]
        signature = signer_info["signature"].native
    except (ValueError, TypeError, KeyError) as e:
        raise MalformedSignature(f"CMS signature cannot be parsed: {e}") from e
    if digest_name != "sha512" or algorithm_name not in _FROM_CMS:
        raise MalformedSignature(f"unsupported CMS algorithms {digest_name}/{algorithm_name}")
    if content_type != "data":
        raise MalformedSignature("CMS content-type attribute is not id-data")
    if not hmac.compare_digest(message_digest, hashlib.sha512(content).digest()):
        raise InvalidSignature("signed content does not match the CMS message-digest")
    leaf = next((c for c in certs if c.serial_number == serial
                 and c.issuer.public_bytes() == issuer), None)
    if leaf is None:
        raise MalformedSignature("CMS signature does not carry its signing certificate")
    algorithm = _FROM_CMS[algorithm_name]
    verify_signature(leaf, algorithm, signature, signed_attrs)
    return CmsSignature(leaf, certs, algorithm)
