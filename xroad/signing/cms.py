"""Detached CMS SignedData (RFC 5652) over the manifest: standard tools can check our signatures.

`openssl cms -verify -binary -inform DER -in sig.p7s -content manifest.json -CAfile ca.pem`
accepts what `sign_detached` makes. Signed attributes: content-type (data), signing-time,
message-digest (SHA-512 of the content). Pure: bytes in, bytes out; the key stays in the Signer.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from asn1crypto import algos, cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from xroad.errors import InvalidSignature, MalformedSignature
from xroad.signing.signer import SignatureAlgorithm, Signer, verify_signature

_CMS_ALGORITHMS: Final = {
    SignatureAlgorithm.RSA_SHA512: "sha512_rsa",
    SignatureAlgorithm.ECDSA_SHA512: "sha512_ecdsa",
    SignatureAlgorithm.ED25519: "ed25519",
}
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


def _asn1_cert(cert: x509.Certificate) -> Any:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def sign_detached(content: bytes, signer: Signer, chain: Sequence[x509.Certificate],
                  at: datetime) -> bytes:
    leaf = _asn1_cert(signer.certificate)
    signed_attrs = cms.CMSAttributes([
        {"type": "content_type", "values": ["data"]},
        {"type": "signing_time", "values": [cms.Time({"utc_time": at})]},
        {"type": "message_digest", "values": [hashlib.sha512(content).digest()]},
    ])
    signer_info = cms.SignerInfo({
        "version": "v1",
        "sid": cms.SignerIdentifier({"issuer_and_serial_number": {
            "issuer": leaf.issuer, "serial_number": leaf.serial_number}}),
        "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha512"}),
        "signed_attrs": signed_attrs,
        "signature_algorithm": algos.SignedDigestAlgorithm(
            {"algorithm": _CMS_ALGORITHMS[signer.algorithm]}),
        "signature": signer.sign(signed_attrs.dump()),
    })
    certs = [signer.certificate, *(c for c in chain if c != signer.certificate)]
    signed_data = cms.SignedData({
        "version": "v1",
        "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha512"})],
        "encap_content_info": {"content_type": "data"},  # detached: no content here
        "certificates": [cms.CertificateChoices({"certificate": _asn1_cert(c)}) for c in certs],
        "signer_infos": [signer_info],
    })
    out: bytes = cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()
    return out


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
        certs = [x509.load_der_x509_certificate(c.chosen.dump())
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
