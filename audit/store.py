"""Append-only audit storage (SQLAlchemy; SQLite by default, PostgreSQL by URL).

A single sequencer (a lock in this process, one transaction per append) assigns contiguous
indexes from 0. SQLite runs in WAL mode with `synchronous=FULL`, so an acknowledged record
survives `kill -9`; triggers refuse UPDATE and DELETE.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    create_engine,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine

from audit.merkle import leaf_hash
from audit.record import GENESIS, AuditRecord, entry_hash
from xroad.errors import LoggingFailed


class AuditStore(Protocol):
    def append(self, record: AuditRecord) -> int: ...

    def append_many(self, records: Sequence[AuditRecord]) -> list[int]: ...


@dataclass(frozen=True, slots=True)
class StoredEntry:
    index: int
    leaf: bytes
    entry_hash: bytes


_metadata = MetaData()
_log = Table(
    "audit_log", _metadata,
    Column("idx", Integer, primary_key=True, autoincrement=False),
    Column("leaf", LargeBinary, nullable=False),
    Column("entry_hash", LargeBinary, nullable=False),
)

_checkpoints = Table(
    "audit_checkpoint", _metadata,
    Column("size", Integer, primary_key=True, autoincrement=False),
    Column("note", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

_timestamps = Table(
    "audit_timestamp", _metadata,
    Column("size", Integer, primary_key=True, autoincrement=False),  # the checkpoint stamped
    Column("token", LargeBinary, nullable=False),  # RFC 3161 TimeStampToken over the note
    Column("created_at", DateTime(timezone=True), nullable=False),
)

_SQLITE_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_checkpoint_no_update BEFORE UPDATE ON audit_checkpoint "
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint "
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_timestamp_no_update BEFORE UPDATE ON audit_timestamp "
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_timestamp_no_delete BEFORE DELETE ON audit_timestamp "
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
)
_POSTGRES_TRIGGERS = (
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit log is append-only'; END $$ LANGUAGE plpgsql",
    "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "DROP TRIGGER IF EXISTS audit_checkpoint_append_only ON audit_checkpoint",
    "CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE ON audit_checkpoint "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "DROP TRIGGER IF EXISTS audit_timestamp_append_only ON audit_timestamp",
    "CREATE TRIGGER audit_timestamp_append_only BEFORE UPDATE OR DELETE ON audit_timestamp "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


class SqlAuditStore:
    """Hash-chained, append-only log of audit records."""

    def __init__(self, url: str) -> None:
        self._engine: Engine = create_engine(url)
        if self._engine.dialect.name == "sqlite":
            event.listen(self._engine, "connect", _sqlite_pragmas)
        self._lock = threading.Lock()
        self._connection: Connection | None = None
        _metadata.create_all(self._engine)
        triggers = _SQLITE_TRIGGERS if self._engine.dialect.name == "sqlite" else _POSTGRES_TRIGGERS
        with self._engine.begin() as conn:
            for statement in triggers:
                conn.execute(text(statement))
        self._next, self._last_hash = self._tail()

    def _tail(self) -> tuple[int, bytes]:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(_log.c.idx, _log.c.entry_hash).order_by(_log.c.idx.desc()).limit(1)
            ).first()
        return (0, GENESIS) if row is None else (row.idx + 1, row.entry_hash)

    def append(self, record: AuditRecord) -> int:
        """Durably append `record` and return its index; raise `LoggingFailed` otherwise."""
        return self.append_many([record])[0]

    def append_many(self, records: Sequence[AuditRecord]) -> list[int]:
        """Durably append `records` in one transaction (group commit): all or none."""
        leaves = [r.canonical_bytes() for r in records]
        with self._lock:
            index, link = self._next, self._last_hash
            rows: list[dict[str, object]] = []
            for leaf in leaves:
                link = entry_hash(link, leaf)
                rows.append({"idx": index + len(rows), "leaf": leaf, "entry_hash": link})
            try:
                writer = self._writer()
                with writer.begin():
                    writer.execute(insert(_log), rows)
            except Exception as e:  # any database failure means: do not deliver
                self._drop_writer()
                raise LoggingFailed(f"audit record could not be written: {type(e).__name__}") from e
            self._next, self._last_hash = index + len(rows), link
        return list(range(index, index + len(rows)))

    def leaf_hashes(self) -> list[bytes]:
        """RFC 6962 leaf hashes of every record, in index order (for checkpoints and proofs)."""
        return [leaf_hash(e.leaf) for e in self.entries()]

    def add_checkpoint(self, size: int, note: bytes, at: datetime) -> None:
        with self._engine.begin() as conn:
            conn.execute(insert(_checkpoints).values(size=size, note=note, created_at=at))

    def latest_checkpoint(self) -> tuple[int, bytes] | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(_checkpoints.c.size, _checkpoints.c.note)
                               .order_by(_checkpoints.c.size.desc()).limit(1)).first()
        return None if row is None else (int(row.size), bytes(row.note))

    def add_timestamp(self, size: int, token: bytes, at: datetime) -> None:
        with self._engine.begin() as conn:
            conn.execute(insert(_timestamps).values(size=size, token=token, created_at=at))

    def timestamp_of(self, size: int) -> bytes | None:
        with self._engine.connect() as conn:
            token = conn.execute(select(_timestamps.c.token)
                                 .where(_timestamps.c.size == size)).scalar_one_or_none()
        return None if token is None else bytes(token)

    def size(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(_log)).scalar_one())

    def entries(self, start: int = 0) -> Iterator[StoredEntry]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(_log).where(_log.c.idx >= start).order_by(_log.c.idx))
            for row in rows:
                yield StoredEntry(row.idx, row.leaf, row.entry_hash)

    def verify_chain(self) -> int:
        """Recompute every link; return the number of entries or raise `LoggingFailed`."""
        previous, count = GENESIS, 0
        for entry in self.entries():
            if entry.index != count or entry.entry_hash != entry_hash(previous, entry.leaf):
                raise LoggingFailed(f"audit log chain is broken at index {entry.index}")
            previous, count = entry.entry_hash, count + 1
        return count

    def _writer(self) -> Connection:
        """One connection kept for appends (callers hold the lock): no pool checkout per batch."""
        if self._connection is None:
            self._connection = self._engine.connect()
        return self._connection

    def _drop_writer(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None

    def close(self) -> None:
        with self._lock:
            self._drop_writer()
        self._engine.dispose()
