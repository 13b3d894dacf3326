"""Message bodies kept in the audit log, encrypted at rest (pure).

Metadata-only is the default: a record holds digests, not content. Where a subsystem's
operator chooses to keep bodies, the message parts are sealed with AES-256-GCM under a key of
the member the server acts for (HKDF from the server's sealed audit secret), bound by the
associated data to the record's message digest, so a body cannot be moved to another record.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from audit.record import SealedBody
from xroad.errors import VerificationError
from xroad.messages.multipart import Part


class BodyUnreadable(VerificationError):
    """A kept body does not decrypt under its member's key for its record."""


def _aad(member: str, message_digest: str) -> bytes:
    return f"xroad-bus audit body/1\n{member}\n{message_digest}".encode()


@dataclass(frozen=True)
class BodyVault:
    master: bytes = field(repr=False)

    def key_for(self, member: str) -> bytes:
        return HKDF(hashes.SHA256(), 32, salt=None,
                    info=b"xroad-bus audit body key\n" + member.encode()).derive(self.master)

    def seal(self, member: str, parts: Sequence[Part], message_digest: str) -> SealedBody:
        plain = json.dumps([{"content_type": p.content_type,
                             "data": base64.b64encode(p.data).decode()} for p in parts]).encode()
        nonce = os.urandom(12)
        sealed = AESGCM(self.key_for(member)).encrypt(nonce, plain,
                                                     _aad(member, message_digest))
        return SealedBody(member, nonce, sealed)

    def open(self, body: SealedBody, message_digest: str) -> list[Part]:
        try:
            plain = AESGCM(self.key_for(body.member)).decrypt(
                body.nonce, body.ciphertext, _aad(body.member, message_digest))
        except InvalidTag as e:
            raise BodyUnreadable("kept body does not belong to this record or key") from e
        return [Part(p["content_type"], base64.b64decode(p["data"])) for p in json.loads(plain)]
