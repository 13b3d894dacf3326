"""Signing the exact bytes exchanged between security servers, and the one verifier.

A message is a list of parts (the X-Road message, then optional body) followed by one
signature part. The signature covers a *manifest*: the SHA-512 digest of every part's exact
bytes plus what binds the message to its exchange (direction, request id, identifiers, time
and, for responses, the request hash). Only `verify_message` constructs a `VerifiedMessage`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from xroad.clock import require_aware
from xroad.errors import CertificateError, InvalidSignature, MalformedSignature
from xroad.messages import untrusted_json as uj
from xroad.messages.multipart import Part
from xroad.signing.certpath import verify_chain
from xroad.signing.cms import sign_detached, verify_detached
from xroad.signing.ocsp import check_ocsp, good_until
from xroad.signing.profile import member_of_signing_cert
from xroad.signing.signer import Signer

SIGNATURE_CONTENT_TYPE: Final = "application/x-road-signature+json"
MANIFEST_VERSION: Final = 1
_ISSUED: Final = object()


class Direction(StrEnum):
    REQUEST = "request"
    RESPONSE = "response"


def digest(data: bytes) -> str:
    return base64.b64encode(hashlib.sha512(data).digest()).decode()


@dataclass(frozen=True, slots=True)
class Manifest:
    direction: Direction
    request_id: str
    message_id: str
    client: str
    service: str
    signed_at: datetime
    parts: tuple[tuple[str, str], ...]  # (content type, base64 SHA-512 of the exact bytes)
    request_hash: str | None = None

    def encode(self) -> bytes:
        return json.dumps({
            "version": MANIFEST_VERSION,
            "direction": str(self.direction),
            "request_id": self.request_id,
            "message_id": self.message_id,
            "client": self.client,
            "service": self.service,
            "signed_at": self.signed_at.isoformat(),
            "digest_algorithm": "SHA-512",
            "parts": [{"content_type": ct, "digest": d} for ct, d in self.parts],
            "request_hash": self.request_hash,
        }, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    @classmethod
    def decode(cls, data: bytes) -> Manifest:
        try:
            doc = uj.obj(uj.loads(data))
            if doc.get("version") != MANIFEST_VERSION or doc.get("digest_algorithm") != "SHA-512":
                raise MalformedSignature("unsupported manifest version or digest algorithm")
            parts = doc["parts"]
            if not isinstance(parts, list):
                raise ValueError("'parts' must be a list")
            return cls(
                direction=Direction(uj.text(doc, "direction")),
                request_id=uj.text(doc, "request_id"),
                message_id=uj.text(doc, "message_id"),
                client=uj.text(doc, "client"),
                service=uj.text(doc, "service"),
                signed_at=require_aware(datetime.fromisoformat(uj.text(doc, "signed_at"))),
                parts=tuple((uj.text(uj.obj(p), "content_type"), uj.text(uj.obj(p), "digest"))
                            for p in parts),
                request_hash=uj.optional_text(doc, "request_hash"),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise MalformedSignature(f"manifest is malformed: {e}") from e


def sign_message(parts: Sequence[Part], *, direction: Direction, request_id: str,
                 message_id: str, client: str, service: str, signer: Signer,
                 chain: Sequence[x509.Certificate], at: datetime, ocsp: bytes | None,
                 request_hash: str | None = None) -> Part:
    """Return the signature part to append after `parts`.

    `ocsp` is a fresh OCSP response for the signing certificate (DER): evidence that it was
    good when the message was signed, which the receiver checks without asking anyone.
    """
    manifest = Manifest(direction, request_id, message_id, client, service, require_aware(at),
                        tuple((p.content_type, digest(p.data)) for p in parts), request_hash)
    manifest_bytes = manifest.encode()
    doc = {
        "manifest": base64.b64encode(manifest_bytes).decode(),
        "cms": base64.b64encode(sign_detached(manifest_bytes, signer, chain, at)).decode(),
        "ocsp": None if ocsp is None else base64.b64encode(ocsp).decode(),
    }
    return Part(SIGNATURE_CONTENT_TYPE, json.dumps(doc).encode())


class RevocationCheck(Protocol):
    def check(self, cert: x509.Certificate, issuer: x509.Certificate, ocsp: bytes | None,
              at: datetime) -> None:
        """Raise a `CertificateError` unless `cert` is shown to be good at `at`."""
        ...


@dataclass(frozen=True, slots=True)
class OcspRequired:
    """The production check: the signature must carry a fresh, good OCSP response."""

    trusted: Sequence[x509.Certificate]
    freshness_s: int = 3600

    def check(self, cert: x509.Certificate, issuer: x509.Certificate, ocsp: bytes | None,
              at: datetime) -> None:
        if ocsp is None:
            raise CertificateError("signature carries no OCSP response for its certificate")
        check_ocsp(ocsp, cert, issuer, self.trusted, at, self.freshness_s)


@dataclass
class RememberingOcspRequired:
    """`OcspRequired`, remembering responses that passed: the same evidence arrives with every
    message a member signs within an hour, and re-verifying it costs more than the rest of the
    signature check. A remembered response is accepted until it would turn stale
    (`producedAt` + freshness, or `nextUpdate`); `scope` (the global configuration's instance
    and version) is part of the key, so a change of trusted CAs or freshness, or another
    instance's rules, is never served from memory.
    """

    trusted: Sequence[x509.Certificate]
    freshness_s: int
    scope: object
    memory: dict[tuple[object, bytes, bytes, bytes], datetime]
    max_entries: int = 10_000

    def check(self, cert: x509.Certificate, issuer: x509.Certificate, ocsp: bytes | None,
              at: datetime) -> None:
        if ocsp is None:
            raise CertificateError("signature carries no OCSP response for its certificate")
        key = (self.scope, hashlib.sha256(ocsp).digest(), cert.fingerprint(hashes.SHA256()),
               issuer.fingerprint(hashes.SHA256()))
        until = self.memory.get(key)
        if until is not None and at < until:
            return
        check_ocsp(ocsp, cert, issuer, self.trusted, at, self.freshness_s)
        if len(self.memory) >= self.max_entries:
            self.memory.clear()
        self.memory[key] = good_until(ocsp, self.freshness_s)


class UnsafeNoRevocationCheck:
    """Skips the revocation check: only for tests of the signature mechanics themselves."""

    def check(self, cert: x509.Certificate, issuer: x509.Certificate, ocsp: bytes | None,
              at: datetime) -> None:
        warnings.warn("revocation is not checked (UnsafeNoRevocationCheck)", stacklevel=2)


@dataclass(frozen=True, slots=True)
class VerifiedMessage:
    """Parts whose bytes are proven to come from `signer`; nothing else reaches services."""

    parts: tuple[Part, ...]
    manifest: Manifest
    signer: str  # the member identifier of the signing certificate
    signer_cert: x509.Certificate = field(repr=False)
    signature_digest: str  # SHA-512 of the signature part, for the audit log
    verified_at: datetime
    _issuer: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._issuer is not _ISSUED:
            raise TypeError("only xroad.signing.message.verify_message() creates a VerifiedMessage")


@dataclass(frozen=True, slots=True)
class _SignaturePart:
    manifest: bytes
    cms: bytes
    ocsp: bytes | None


def _load_signature(part: Part) -> _SignaturePart:
    if part.content_type != SIGNATURE_CONTENT_TYPE:
        raise MalformedSignature("the last part is not a signature")
    try:
        doc = uj.obj(uj.loads(part.data))
        manifest = base64.b64decode(uj.text(doc, "manifest"), validate=True)
        signature = base64.b64decode(uj.text(doc, "cms"), validate=True)
        evidence = uj.optional_text(doc, "ocsp")
        ocsp = None if evidence is None else base64.b64decode(evidence, validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error) as e:
        raise MalformedSignature(f"signature part is malformed: {e}") from e
    return _SignaturePart(manifest, signature, ocsp)


def verify_message(parts: Sequence[Part], *, direction: Direction, request_id: str,
                   expected_signer: str, approved_cas: Sequence[x509.Certificate],
                   at: datetime, revocation: RevocationCheck) -> VerifiedMessage:
    """Verify `parts` (signature last) as received; raise a `VerificationError` otherwise."""
    if len(parts) < 2:
        raise MalformedSignature("message has no signature part")
    *content, signature_part = parts
    loaded = _load_signature(signature_part)
    cms = verify_detached(loaded.cms, loaded.manifest)
    leaf = cms.signer
    path = verify_chain(leaf, [c for c in cms.certificates if c != leaf], approved_cas,
                        require_aware(at))
    if len(path) < 2:
        raise CertificateError("a CA certificate cannot sign messages")
    revocation.check(leaf, path[1], loaded.ocsp, at)
    manifest_bytes = loaded.manifest
    manifest = Manifest.decode(manifest_bytes)
    if manifest.direction is not direction or manifest.request_id != request_id:
        raise InvalidSignature("signature belongs to another message of the exchange")
    received = tuple((p.content_type, digest(p.data)) for p in content)
    if manifest.parts != received:
        raise InvalidSignature("message parts do not match the signed digests")
    signer = str(member_of_signing_cert(leaf))
    if signer != expected_signer:
        raise CertificateError(f"message is signed by {signer}, expected {expected_signer}")
    return VerifiedMessage(tuple(content), manifest, signer, leaf, digest(signature_part.data),
                           at, _ISSUED)
