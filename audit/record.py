"""An audit record and its canonical bytes (pure).

Leaves are hashed as in RFC 6962 (`SHA-256(0x00 || leaf)`) so the hash chain of the
foundation and the Merkle tree that replaces it agree on what a record's bytes are.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from audit.merkle import leaf_hash

GENESIS: Final = bytes(32)


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

    def canonical_bytes(self) -> bytes:
        # Not dataclasses.asdict: it deep-copies every value, once per record written.
        doc = {name: getattr(self, name) for name in self.__slots__}
        doc["at"] = self.at.isoformat()
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(previous: bytes, leaf: bytes) -> bytes:
    """Chain link: any change to an earlier record changes every later entry hash."""
    return hashlib.sha256(previous + leaf_hash(leaf)).digest()
