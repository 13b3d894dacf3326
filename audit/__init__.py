"""Tamper-evident audit log: one record per message on each security server, hash-chained."""

from audit.record import AuditRecord, entry_hash, leaf_hash
from audit.store import AuditStore, SqlAuditStore, StoredEntry

__all__ = ["AuditRecord", "AuditStore", "SqlAuditStore", "StoredEntry", "entry_hash", "leaf_hash"]
