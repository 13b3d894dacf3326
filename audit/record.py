"""An audit record, its canonical bytes (the Merkle leaf), and what is stored beside it (pure)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Literal


@dataclass(frozen=True, slots=True)
class AuditRecord:
    at: datetime
    security_server: str
    kind: Literal["request", "response"]
    message_id: str
    request_id: str
    client: str
    service: str
    user_id: str | None
    issue: str | None
    represented_party: str | None
    message_digest: str | None  # base64 SHA-512 of the exact message bytes
    signature_digest: str | None  # base64 SHA-512 of the signature part
    signer_cert_sha256: str | None
    outcome: str  # "ok" or the fault code
    latency_ms: float | None = None
    subjects: tuple[str, ...] = ()  # keyed hashes of the persons the message is about

    def canonical_bytes(self) -> bytes:
        # Not dataclasses.asdict: it deep-copies every value, once per record written.
        doc: dict[str, object] = {name: getattr(self, name) for name in self.__slots__}
        doc["at"] = self.at.isoformat()
        doc["subjects"] = sorted(self.subjects)
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True, slots=True)
class SealedBody:
    """A message body encrypted at rest (AES-256-GCM) under one member's key."""

    member: str
    nonce: bytes
    ciphertext: bytes


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """A record and the evidence kept beside it, each bound to it by a digest in the leaf."""

    record: AuditRecord
    signature: bytes | None = None  # the exact signature part (digest: record.signature_digest)
    body: SealedBody | None = None  # kept only where the subsystem asks for it
