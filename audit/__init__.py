"""Tamper-evident audit log: one record per message on each security server, in an RFC 6962
Merkle tree with signed, time-stamped checkpoints and proofs (`audit.merkle`, `audit.tree`)."""

from audit.merkle import leaf_hash
from audit.record import AuditEntry, AuditRecord, SealedBody
from audit.store import SqlAuditStore, StoredRecord

__all__ = ["AuditEntry", "AuditRecord", "SealedBody", "SqlAuditStore", "StoredRecord",
           "leaf_hash"]
