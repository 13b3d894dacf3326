"""Management requests, as X-Road has them: what a security server's owner (or a client
member) asks the central server to change, signed by the requesting member's signing key and,
for a new authentication certificate, also by that certificate's key (proof of possession).

The payload is canonical JSON; the signatures are detached CMS over its exact bytes, the same
construction as message signatures (ADR 0003), so `openssl cms -verify` can check them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from xroad.clock import require_aware
from xroad.encryption import RecipientKey, Suite
from xroad.errors import (
    BadRequest,
    CertificateError,
    DecryptionFailed,
    InvalidSignature,
    MalformedSignature,
)
from xroad.identifiers import ClientId, SecurityServerId
from xroad.messages import untrusted_json as uj
from xroad.signing.certpath import verify_chain
from xroad.signing.cms import sign_detached, verify_detached
from xroad.signing.profile import member_of_signing_cert
from xroad.signing.signer import Signer

FORMAT: Final = "xroad-bus-management-request/1"
MAX_PAYLOAD: Final = 64 * 1024


class RequestKind(StrEnum):
    AUTH_CERT_REGISTRATION = "auth-cert-registration"
    CLIENT_REGISTRATION = "client-registration"
    CLIENT_DELETION = "client-deletion"
    OWNER_CHANGE = "owner-change"
    ADDRESS_CHANGE = "address-change"
    CLIENT_DISABLE = "client-disable"
    CLIENT_ENABLE = "client-enable"


# Which request needs which detail besides the server.
NEEDS_CLIENT: Final = frozenset({RequestKind.CLIENT_REGISTRATION, RequestKind.CLIENT_DELETION,
                                 RequestKind.OWNER_CHANGE, RequestKind.CLIENT_DISABLE,
                                 RequestKind.CLIENT_ENABLE})
NEEDS_ADDRESS: Final = frozenset({RequestKind.ADDRESS_CHANGE})
NEEDS_CERT: Final = frozenset({RequestKind.AUTH_CERT_REGISTRATION})


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


@dataclass(frozen=True)
class ManagementRequest:
    kind: RequestKind
    server: SecurityServerId
    created_at: datetime
    client: ClientId | None = None
    address: str | None = None
    auth_cert: x509.Certificate | None = None
    nonce: str = ""
    # With an authentication certificate: the server's public message-encryption keys.
    encryption_keys: tuple[RecipientKey, ...] = ()

    def __post_init__(self) -> None:
        require_aware(self.created_at)
        if self.encryption_keys and self.kind not in NEEDS_CERT:
            raise BadRequest("encryption keys are registered with an authentication certificate")
        if len({k.suite for k in self.encryption_keys}) != len(self.encryption_keys):
            raise BadRequest("one encryption key per suite")
        for needed, value, what in ((NEEDS_CLIENT, self.client, "client"),
                                    (NEEDS_ADDRESS, self.address, "address"),
                                    (NEEDS_CERT, self.auth_cert, "authentication certificate")):
            if (self.kind in needed) != (value is not None):
                verb = "needs a" if self.kind in needed else "takes no"
                raise BadRequest(f"a {self.kind} request {verb} {what}")
        if self.address is not None and not self.address.startswith("https://"):
            raise BadRequest("a security server's address is an https:// URL")
        if self.client is not None and self.client.instance != self.server.owner.instance:
            raise BadRequest("the client and the server belong to different instances")
        if self.kind is RequestKind.OWNER_CHANGE and self.client is not None and (
                self.client.subsystem_code is not None):
            raise BadRequest("a security server's owner is a member, not a subsystem")

    @property
    def auth_cert_sha256(self) -> str | None:
        return None if self.auth_cert is None else hashlib.sha256(_der(self.auth_cert)).hexdigest()

    def payload(self) -> bytes:
        """The canonical bytes that are signed."""
        return json.dumps({
            "format": FORMAT, "kind": str(self.kind), "server": str(self.server),
            "client": None if self.client is None else str(self.client),
            "address": self.address,
            "auth_cert": None if self.auth_cert is None else base64.b64encode(
                _der(self.auth_cert)).decode(),
            "created_at": self.created_at.isoformat(), "nonce": self.nonce,
            "encryption_keys": [{"suite": int(k.suite),
                                 "public_key": base64.b64encode(k.public_bytes).decode()}
                                for k in self.encryption_keys],
        }, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    @classmethod
    def parse(cls, payload: bytes) -> ManagementRequest:
        if len(payload) > MAX_PAYLOAD:
            raise BadRequest("management request too large")
        try:
            doc = uj.obj(uj.loads(payload))
            if doc.get("format") != FORMAT:
                raise BadRequest(f"not a {FORMAT} request")
            client, address = uj.optional_text(doc, "client"), uj.optional_text(doc, "address")
            cert_b64 = uj.optional_text(doc, "auth_cert")
            request = cls(
                kind=RequestKind(uj.text(doc, "kind")),
                server=SecurityServerId.parse(uj.text(doc, "server")),
                created_at=datetime.fromisoformat(uj.text(doc, "created_at")),
                client=None if client is None else ClientId.parse(client), address=address,
                auth_cert=None if cert_b64 is None else x509.load_der_x509_certificate(
                    base64.b64decode(cert_b64, validate=True)),
                nonce=uj.text(doc, "nonce"),
                encryption_keys=_encryption_keys(doc.get("encryption_keys", [])))
        except (KeyError, TypeError, ValueError, binascii.Error) as e:
            raise BadRequest(f"management request is malformed: {e}") from e
        if request.payload() != payload:
            raise BadRequest("management request is not in canonical form")
        return request

    def key(self) -> tuple[str, str, str | None, str | None, str | None]:
        """What a complementary request from the other side must match."""
        return (str(self.kind), str(self.server), None if self.client is None
                else str(self.client), self.address, self.auth_cert_sha256)


def _encryption_keys(items: object) -> tuple[RecipientKey, ...]:
    if not isinstance(items, list) or len(items) > 8:
        raise BadRequest("encryption_keys must be a short list")
    keys = []
    for item in items:
        doc = uj.obj(item)
        suite = doc.get("suite")
        if not isinstance(suite, int) or isinstance(suite, bool):
            raise BadRequest("an encryption key's suite is a number")
        key = RecipientKey(Suite(suite), base64.b64decode(uj.text(doc, "public_key"),
                                                          validate=True))
        try:
            key._public()
        except DecryptionFailed as e:
            raise BadRequest(str(e)) from e
        keys.append(key)
    return tuple(keys)


@dataclass(frozen=True)
class SignedRequest:
    payload: bytes
    signature: bytes  # CMS by the requesting member's signing key
    proof_of_possession: bytes | None = None  # CMS by the new authentication key


def new_request(kind: RequestKind, server: SecurityServerId, at: datetime, *,
                client: ClientId | None = None, address: str | None = None,
                auth_cert: x509.Certificate | None = None,
                encryption_keys: tuple[RecipientKey, ...] = ()) -> ManagementRequest:
    return ManagementRequest(kind, server, at, client, address, auth_cert,
                             secrets.token_hex(16), encryption_keys)


def sign_request(request: ManagementRequest, signer: Signer, chain: list[x509.Certificate],
                 at: datetime, auth_signer: Signer | None = None) -> SignedRequest:
    payload = request.payload()
    proof = None
    if request.kind in NEEDS_CERT:
        if auth_signer is None or auth_signer.certificate != request.auth_cert:
            raise BadRequest("an authentication certificate is proven by its own key")
        proof = sign_detached(payload, auth_signer, chain, at)
    return SignedRequest(payload, sign_detached(payload, signer, chain, at), proof)


@dataclass(frozen=True)
class VerifiedRequest:
    request: ManagementRequest
    signer: ClientId  # the member whose signing key signed it


def verify_request(signed: SignedRequest, approved_cas: list[x509.Certificate],
                   at: datetime) -> VerifiedRequest:
    """The request, if its signature (and proof of possession) verify; raises otherwise."""
    request = ManagementRequest.parse(signed.payload)
    cms = verify_detached(signed.signature, signed.payload)
    path = verify_chain(cms.signer, [c for c in cms.certificates if c != cms.signer],
                        approved_cas, require_aware(at))
    if len(path) < 2:
        raise CertificateError("a CA certificate cannot sign management requests")
    signer = member_of_signing_cert(cms.signer)
    allowed = {request.server.owner}
    if request.client is not None and request.kind is not RequestKind.OWNER_CHANGE:
        allowed.add(request.client.member)
    if request.kind is RequestKind.OWNER_CHANGE and request.client is not None:
        allowed.add(request.client)  # the new owner asks
    if signer not in allowed:
        raise InvalidSignature(f"{signer} may not sign a {request.kind} request for "
                               f"{request.server}")
    if request.kind in NEEDS_CERT:
        if signed.proof_of_possession is None:
            raise MalformedSignature("an authentication certificate registration needs a "
                                     "proof of possession of its key")
        proof = verify_detached(signed.proof_of_possession, signed.payload)
        if request.auth_cert is None or _der(proof.signer) != _der(request.auth_cert):
            raise InvalidSignature("the proof of possession is not by the registered "
                                   "authentication key")
        verify_chain(request.auth_cert, [c for c in proof.certificates if c != proof.signer],
                     approved_cas, require_aware(at))
    return VerifiedRequest(request, signer)
