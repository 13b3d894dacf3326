"""Values passed between the HTTP edge and the two proxy roles, and the audit record builder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from audit.record import AuditRecord
from xroad.identifiers import ClientId, SecurityServerId, ServiceId


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    raw_path: str  # still percent-encoded
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None  # None: larger than the configured limit, refused unread

    def header(self, name: str) -> str | None:
        """The last value of a header (X-Road: when repeated, the last one wins)."""
        lower = name.lower()
        values = [v for k, v in self.headers if k.lower() == lower]
        return values[-1] if values else None


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class Exchange:
    """The identifiers of one exchange, known once the client's message is parsed."""

    request_id: str
    message_id: str
    client: ClientId
    service: ServiceId
    user_id: str | None
    issue: str | None
    represented_party: str | None
    security_server: SecurityServerId | None = None  # the provider server the client pinned

    def record(self, server: str, kind: Literal["request", "response"], at: datetime, *,
               outcome: str, message_digest: str | None = None,
               signature_digest: str | None = None, signer_cert_sha256: str | None = None,
               latency_ms: float | None = None, subjects: tuple[str, ...] = ()
               ) -> AuditRecord:
        return AuditRecord(
            at=at, security_server=server, kind=kind, message_id=self.message_id,
            request_id=self.request_id, client=str(self.client), service=str(self.service),
            user_id=self.user_id, issue=self.issue, represented_party=self.represented_party,
            message_digest=message_digest, signature_digest=signature_digest,
            signer_cert_sha256=signer_cert_sha256, outcome=outcome, latency_ms=latency_ms,
            subjects=subjects)
