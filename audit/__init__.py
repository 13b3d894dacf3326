"""Tamper-evident audit log: one record per message on each security server, hash-chained,
with an RFC 6962 Merkle tree over the same leaves (proofs in `audit.merkle`)."""

from audit.merkle import leaf_hash
from audit.record import AuditRecord, entry_hash
from audit.store import AuditStore, SqlAuditStore, StoredEntry

__all__ = ["AuditRecord", "AuditStore", "SqlAuditStore", "StoredEntry", "entry_hash", "leaf_hash"]
