"""Does a logged signature part prove the audit record that names it? Pure: bytes and certificates.

The record holds only digests; the bundle carries the exact signature part. It proves the
record when the part is the one the record's `signature_digest` names, its CMS signature over
the manifest verifies, the signing certificate chained to an approved CA and was shown good by
the OCSP response inside the part at the signing time (so a bundle still verifies when the
certificates have long expired), and the manifest names the same exchange as the record.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from audit.findings import short
from xroad.errors import CertificateError, MalformedSignature, VerificationError, XRoadError
from xroad.identifiers import ClientId, ServiceId
from xroad.messages import untrusted_json as uj
from xroad.signing.certpath import verify_chain
from xroad.signing.cms import verify_detached
from xroad.signing.message import Direction, Manifest, digest
from xroad.signing.ocsp import check_ocsp
from xroad.signing.profile import member_of_signing_cert


@dataclass(frozen=True, slots=True)
class _Evidence:
    manifest: Manifest
    signer: x509.Certificate


def check_signature(signature: bytes, record: Mapping[str, Any],
                    approved_cas: Sequence[x509.Certificate], freshness_s: int) -> list[str]:
    """What is wrong with `signature` as evidence for `record` (the leaf's fields); [] if
    nothing is."""
    if record.get("signature_digest") != digest(signature):
        return ["the signature part is not the one the record's signature_digest names"]
    try:
        evidence = _verify(signature, approved_cas, freshness_s)
    except VerificationError as e:
        return [f"message signature: {e}"]
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:  # from certificate parsing
        return [f"message signature cannot be checked: a certificate is malformed ({e})"]
    return [*_mismatches(evidence.manifest, record), *_signer_problems(evidence.signer, record)]


def _part(signature: bytes) -> tuple[bytes, bytes, bytes | None]:
    """(manifest, CMS, OCSP response) from the signature part's JSON."""
    try:
        doc = uj.obj(uj.loads(signature.decode("utf-8")))
        manifest = base64.b64decode(uj.text(doc, "manifest"), validate=True)
        cms = base64.b64decode(uj.text(doc, "cms"), validate=True)
        evidence = uj.optional_text(doc, "ocsp")
        ocsp = None if evidence is None else base64.b64decode(evidence, validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error) as e:
        raise MalformedSignature(f"signature part is malformed: {e}") from e
    return manifest, cms, ocsp


def _verify(signature: bytes, approved_cas: Sequence[x509.Certificate], freshness_s: int
            ) -> _Evidence:
    manifest_bytes, cms, ocsp = _part(signature)
    signed = verify_detached(cms, manifest_bytes)
    manifest = Manifest.decode(manifest_bytes)
    signer = signed.signer
    path = verify_chain(signer, [c for c in signed.certificates if c != signer], approved_cas,
                        manifest.signed_at)
    if len(path) < 2:
        raise CertificateError("a CA certificate cannot sign messages")
    if ocsp is None:
        raise CertificateError("the signature carries no OCSP response for its certificate")
    check_ocsp(ocsp, signer, path[1], approved_cas, manifest.signed_at, freshness_s)
    return _Evidence(manifest, signer)


def _mismatches(manifest: Manifest, record: Mapping[str, Any]) -> list[str]:
    signed = {
        "kind": str(manifest.direction), "request_id": manifest.request_id,
        "message_id": manifest.message_id, "client": manifest.client,
        "service": manifest.service,
        "message_digest": manifest.parts[0][1] if manifest.parts else None,
    }
    return [f"the signed {key} {short(value)} differs from the record's {short(record.get(key))}"
            for key, value in signed.items() if record.get(key) != value]


def _signer_problems(signer: x509.Certificate, record: Mapping[str, Any]) -> list[str]:
    fingerprint = hashlib.sha256(signer.public_bytes(serialization.Encoding.DER)).hexdigest()
    problems = []
    if record.get("signer_cert_sha256") != fingerprint:
        problems.append(f"the signing certificate's SHA-256 {fingerprint} differs from the "
                        f"record's signer_cert_sha256 {short(record.get('signer_cert_sha256'))}")
    try:
        member, expected = member_of_signing_cert(signer), _expected_signer(record)
    except XRoadError as e:
        return [*problems, f"signer cannot be checked: {e}"]
    if member != expected:
        problems.append(f"signed by {member}, but a {record.get('kind')} is signed by "
                        f"{expected}")
    return problems


def _expected_signer(record: Mapping[str, Any]) -> ClientId:
    """Requests are signed by the client's member, responses by the provider's."""
    client, service = record.get("client"), record.get("service")
    if not isinstance(client, str) or not isinstance(service, str):
        raise MalformedSignature("the record names no client and service")
    if record.get("kind") == str(Direction.REQUEST):
        return ClientId.parse(client).member
    return ServiceId.parse(service).provider.member
