"""Tables of the audit log and the triggers that keep them append-only.

`audit_log` holds each record's canonical bytes (the leaf) with copies of the fields auditors
search by; `audit_node` the RFC 6962 perfect-subtree hashes (level 0: leaf hashes), written in
the same transaction as the leaves. Signatures, subject keys and sealed bodies sit beside the
record, bound to it by digests inside the leaf. UPDATE is refused everywhere; DELETE only for
records an archive bundle already holds (`audit_archive`), and never for tree nodes,
checkpoints or time-stamps, so proofs outlive archiving.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

SCHEMA_VERSION: Final = 2  # 1 was the hash chain of the foundation

metadata = MetaData()

log = Table(
    "audit_log", metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("leaf", LargeBinary, nullable=False),  # canonical bytes: the only authoritative copy
    Column("at", DateTime(timezone=False), nullable=False),  # UTC
    Column("kind", String(16), nullable=False),
    Column("message_id", Text, nullable=False),
    Column("request_id", Text, nullable=False),
    Column("client", Text, nullable=False),
    Column("service", Text, nullable=False),
    Column("user_id", Text),
    Column("issue", Text),
    Column("outcome", Text, nullable=False),
    Column("latency_ms", Float),
    Index("audit_log_at", "at"),
    Index("audit_log_client", "client", "at"),
    Index("audit_log_service", "service", "at"),
    Index("audit_log_request", "request_id"),
    Index("audit_log_message", "message_id"),
)

node = Table(
    "audit_node", metadata,
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary, nullable=False),
)

signature = Table(
    "audit_signature", metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("signature", LargeBinary, nullable=False),  # the exact signature part
)

subject = Table(
    "audit_subject", metadata,
    Column("subject", String(64), primary_key=True),  # keyed hash of e.g. a register number
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
)

body = Table(
    "audit_body", metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("member", Text, nullable=False),  # whose key sealed it
    Column("nonce", LargeBinary, nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
)

checkpoint = Table(
    "audit_checkpoint", metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("note", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

timestamp = Table(
    "audit_timestamp", metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),  # the checkpoint stamped
    Column("token", LargeBinary, nullable=False),  # RFC 3161 TimeStampToken over the note
    Column("created_at", DateTime(timezone=True), nullable=False),
)

embargo = Table(
    "audit_embargo", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject", String(64), nullable=False, index=True),
    Column("client", Text),  # only this client's queries; all when empty
    Column("until", DateTime(timezone=False), nullable=False),  # UTC
    Column("reason", Text, nullable=False),
    Column("created_at", DateTime(timezone=False), nullable=False),
)

archive = Table(
    "audit_archive", metadata,
    Column("sequence", Integer, primary_key=True, autoincrement=False),
    Column("start_idx", BigInteger, nullable=False),
    Column("end_idx", BigInteger, nullable=False),  # exclusive
    Column("digest", String(64), nullable=False),  # of the bundle (audit.evidence)
    Column("previous_digest", String(64)),
    Column("location", Text, nullable=False),
    Column("created_at", DateTime(timezone=False), nullable=False),
)

meta = Table(
    "audit_meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# Tables whose rows may go once archived (by record index), and those kept forever.
ARCHIVABLE: Final = ("audit_log", "audit_signature", "audit_subject", "audit_body")
PERMANENT: Final = ("audit_node", "audit_checkpoint", "audit_timestamp", "audit_archive",
                    "audit_embargo", "audit_meta")
_ARCHIVED_BELOW: Final = "(SELECT COALESCE(MAX(end_idx), 0) FROM audit_archive)"


def sqlite_triggers() -> list[str]:
    statements = []
    for table in ARCHIVABLE + PERMANENT:
        statements.append(
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END")
        guard = f"WHEN OLD.idx >= {_ARCHIVED_BELOW} " if table in ARCHIVABLE else ""
        statements.append(
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} {guard}"
            "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END")
    return statements


def postgres_triggers() -> list[str]:
    statements = [
        "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'audit log is append-only'; END $$ LANGUAGE plpgsql",
        "CREATE OR REPLACE FUNCTION audit_delete_archived_only() RETURNS trigger AS $$ "
        f"BEGIN IF OLD.idx >= {_ARCHIVED_BELOW} THEN "
        "RAISE EXCEPTION 'audit log is append-only'; END IF; RETURN OLD; END $$ "
        "LANGUAGE plpgsql",
    ]
    for table in ARCHIVABLE + PERMANENT:
        statements += [
            f"DROP TRIGGER IF EXISTS {table}_no_update ON {table}",
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
            f"DROP TRIGGER IF EXISTS {table}_no_delete ON {table}",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} FOR EACH ROW "
            "EXECUTE FUNCTION "
            + ("audit_delete_archived_only()" if table in ARCHIVABLE else "audit_append_only()"),
        ]
    return statements
