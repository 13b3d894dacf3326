"""Append-only audit storage with an RFC 6962 tree (SQLAlchemy; SQLite by default, PostgreSQL by
URL).

A single sequencer (a lock in this process, one transaction per batch) assigns contiguous
indexes from 0 and writes each batch's leaves, the tree nodes they complete, and the evidence
beside them in one transaction (group commit): all or nothing. SQLite runs in WAL mode with
`synchronous=FULL`, so an acknowledged record survives `kill -9`; triggers refuse UPDATE and
DELETE (`audit.schema`). Roots and proofs of any size come from the stored nodes
(`audit.tree`), so a checkpoint of a grown log costs O(log n), not a re-read.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import and_, create_engine, event, func, insert, inspect, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from audit import schema
from audit.merkle import leaf_hash
from audit.record import AuditEntry, AuditRecord
from audit.tree import Frontier, Node, StoredTree
from xroad.errors import LoggingFailed

NODE_CACHE_SIZE = 65_536
SEQUENCER_LOCK = 0x78726F61645F6C67  # PostgreSQL advisory lock key of the audit sequencer

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class StoredRecord:
    index: int
    leaf: bytes  # canonical bytes
    signature: bytes | None


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    size: int
    note: bytes
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ArchiveEntry:
    """An archive bundle holding records [start, end), chained to the previous one."""

    sequence: int
    start: int
    end: int
    digest: str  # audit.evidence.bundle_digest of the bundle
    previous_digest: str | None
    location: str


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def utc(at: datetime) -> datetime:
    """The naive UTC form the search columns hold (comparable on every database)."""
    return at.astimezone(UTC).replace(tzinfo=None)


def _row(index: int, record: AuditRecord, leaf: bytes) -> dict[str, object]:
    return {"idx": index, "leaf": leaf, "at": utc(record.at), "kind": record.kind,
            "message_id": record.message_id, "request_id": record.request_id,
            "client": record.client, "service": record.service, "user_id": record.user_id,
            "issue": record.issue, "outcome": record.outcome, "latency_ms": record.latency_ms}


def _entry(item: AuditEntry | AuditRecord) -> AuditEntry:
    return item if isinstance(item, AuditEntry) else AuditEntry(item)


class SqlAuditStore:
    """The append-only log of one security server (or of one cluster sharing PostgreSQL)."""

    def __init__(self, url: str) -> None:
        self._engine: Engine = create_engine(url)
        self.dialect = self._engine.dialect.name
        if self.dialect == "sqlite":
            event.listen(self._engine, "connect", _sqlite_pragmas)
        self._lock = threading.Lock()
        self._connection: Connection | None = None
        self._check_schema()
        schema.metadata.create_all(self._engine)
        triggers = (schema.sqlite_triggers() if self.dialect == "sqlite"
                    else schema.postgres_triggers())
        with self._engine.begin() as conn:
            for statement in triggers:
                conn.execute(text(statement))
            if conn.execute(select(schema.meta.c.value)
                            .where(schema.meta.c.key == "schema_version")).first() is None:
                conn.execute(insert(schema.meta).values(key="schema_version",
                                                        value=str(schema.SCHEMA_VERSION)))
        self._node = functools.lru_cache(maxsize=NODE_CACHE_SIZE)(self._load_node)
        self.tree = StoredTree(self._node)
        self._frontier = Frontier.load(self.size(), self._node)

    @property
    def engine(self) -> Engine:
        return self._engine

    def _check_schema(self) -> None:
        tables = inspect(self._engine)
        if tables.has_table("audit_log") and "kind" not in {
                c["name"] for c in tables.get_columns("audit_log")}:
            raise LoggingFailed(
                "the audit database holds a hash-chained log of an earlier version (schema 1); "
                "move it aside (it stays verifiable with that version) and start a new log")

    # -- writing ---------------------------------------------------------------------------

    def append(self, record: AuditRecord | AuditEntry) -> int:
        """Durably append one record and return its index; raise `LoggingFailed` otherwise."""
        return self.append_many([record])[0]

    def append_many(self, items: Sequence[AuditEntry | AuditRecord]) -> list[int]:
        """Durably append records in one transaction (group commit): all or none.

        Several writers may share the database (security server nodes of a cluster on
        PostgreSQL, or a second process on SQLite): inside the transaction the sequencer lock
        is taken (PostgreSQL advisory lock; SQLite's write lock) and the log's real end is
        read, so indexes stay contiguous and the tree never forks. A writer that loses a race
        on SQLite fails closed with `LoggingFailed`, and the next batch starts from the end
        it then reads."""
        entries = [_entry(item) for item in items]
        leaves = [e.record.canonical_bytes() for e in entries]
        hashes = [leaf_hash(leaf) for leaf in leaves]
        with self._lock:
            try:
                writer = self._writer()
                with writer.begin():
                    frontier = self._frontier_at_end(writer)
                    start = frontier.size
                    nodes = frontier.append(hashes)
                    self._insert(writer, start, entries, leaves, nodes)
            except Exception as e:  # any database failure means: do not deliver
                self._drop_writer()
                raise LoggingFailed(f"audit record could not be written: {type(e).__name__}") from e
            self._frontier = frontier
        return list(range(start, start + len(entries)))

    def _frontier_at_end(self, conn: Connection) -> Frontier:
        """A copy of the tree's right edge at the log's real end, under the sequencer lock."""
        if self.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEQUENCER_LOCK})
        last = conn.execute(select(func.max(schema.node.c.idx))
                            .where(schema.node.c.level == 0)).scalar_one()
        size = 0 if last is None else int(last) + 1
        if size != self._frontier.size:  # another writer appended meanwhile
            log.debug("audit.tail_reloaded", cached=self._frontier.size, actual=size)
            self._frontier = Frontier.load(size, self._node)
        return Frontier(size, list(self._frontier.nodes))

    @staticmethod
    def _insert(conn: Connection, start: int, entries: Sequence[AuditEntry],
                leaves: Sequence[bytes], nodes: Sequence[Node]) -> None:
        conn.execute(insert(schema.log), [
            _row(start + i, e.record, leaf) for i, (e, leaf) in enumerate(zip(entries, leaves,
                                                                              strict=True))])
        conn.execute(insert(schema.node),
                     [{"level": n.level, "idx": n.index, "hash": n.hash} for n in nodes])
        signatures = [{"idx": start + i, "signature": e.signature}
                      for i, e in enumerate(entries) if e.signature is not None]
        if signatures:
            conn.execute(insert(schema.signature), signatures)
        subjects = [{"subject": s, "idx": start + i}
                    for i, e in enumerate(entries) for s in sorted(set(e.record.subjects))]
        if subjects:
            conn.execute(insert(schema.subject), subjects)
        bodies = [{"idx": start + i, "member": e.body.member, "nonce": e.body.nonce,
                   "ciphertext": e.body.ciphertext}
                  for i, e in enumerate(entries) if e.body is not None]
        if bodies:
            conn.execute(insert(schema.body), bodies)

    # -- the tree --------------------------------------------------------------------------

    def _load_node(self, level: int, index: int) -> bytes:
        with self._engine.connect() as conn:
            value = conn.execute(select(schema.node.c.hash).where(and_(
                schema.node.c.level == level, schema.node.c.idx == index))).scalar_one_or_none()
        if value is None:
            raise LoggingFailed(f"audit tree node ({level}, {index}) is missing")
        return bytes(value)

    def size(self) -> int:
        """How many records the log has ever held (archived ones included)."""
        with self._engine.connect() as conn:
            last = conn.execute(select(func.max(schema.node.c.idx))
                                .where(schema.node.c.level == 0)).scalar_one()
        return 0 if last is None else int(last) + 1

    def archived_below(self) -> int:
        """Records below this index have moved to archive bundles."""
        with self._engine.connect() as conn:
            end = conn.execute(select(func.max(schema.archive.c.end_idx))).scalar_one()
        return 0 if end is None else int(end)

    def root(self, size: int) -> bytes:
        return self.tree.root(size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return self.tree.inclusion_proof(index, size)

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        return self.tree.consistency_proof(size1, size2)

    # -- reading ---------------------------------------------------------------------------

    def records(self, start: int = 0, end: int | None = None) -> Iterator[StoredRecord]:
        """Records still in the live database with `start <= index < end`, in index order."""
        query = (select(schema.log.c.idx, schema.log.c.leaf, schema.signature.c.signature)
                 .outerjoin(schema.signature, schema.signature.c.idx == schema.log.c.idx)
                 .where(schema.log.c.idx >= start).order_by(schema.log.c.idx))
        if end is not None:
            query = query.where(schema.log.c.idx < end)
        with self._engine.connect() as conn:
            for row in conn.execution_options(stream_results=True, yield_per=1000).execute(query):
                yield StoredRecord(int(row.idx), bytes(row.leaf),
                                   None if row.signature is None else bytes(row.signature))

    def record(self, index: int) -> StoredRecord | None:
        return next(self.records(index, index + 1), None)

    def body(self, index: int) -> tuple[str, bytes, bytes] | None:
        """The sealed body kept for a record: (member, nonce, ciphertext)."""
        with self._engine.connect() as conn:
            row = conn.execute(select(schema.body).where(schema.body.c.idx == index)).first()
        return None if row is None else (row.member, bytes(row.nonce), bytes(row.ciphertext))

    # -- archiving -------------------------------------------------------------------------

    def index_before(self, cutoff: datetime, end: int) -> int:
        """The first index below `end` whose record is at or after `cutoff` (or `end`)."""
        with self._engine.connect() as conn:
            first = conn.execute(select(func.min(schema.log.c.idx)).where(
                schema.log.c.idx < end, schema.log.c.at >= utc(cutoff))).scalar_one()
        return end if first is None else int(first)

    def archives(self) -> list[ArchiveEntry]:
        with self._engine.connect() as conn:
            return [ArchiveEntry(int(r.sequence), int(r.start_idx), int(r.end_idx), r.digest,
                                 r.previous_digest, r.location)
                    for r in conn.execute(select(schema.archive)
                                          .order_by(schema.archive.c.sequence))]

    def remove_archived(self, entry: ArchiveEntry, at: datetime) -> None:
        """Record that an archive bundle holds records [start, end) and remove them from the
        live tables, in one transaction (the triggers allow deleting only archived records;
        tree nodes, checkpoints and time-stamps stay, so proofs still work)."""
        with self._lock:
            writer = self._writer()
            try:
                with writer.begin():
                    writer.execute(insert(schema.archive).values(
                        sequence=entry.sequence, start_idx=entry.start, end_idx=entry.end,
                        digest=entry.digest, previous_digest=entry.previous_digest,
                        location=entry.location, created_at=utc(at)))
                    for table in (schema.signature, schema.subject, schema.body, schema.log):
                        writer.execute(table.delete().where(table.c.idx < entry.end))
            except Exception as e:
                self._drop_writer()
                raise LoggingFailed(f"archived records could not be removed: "
                                    f"{type(e).__name__}") from e

    # -- checkpoints and time-stamps -------------------------------------------------------

    def add_checkpoint(self, size: int, note: bytes, at: datetime) -> None:
        """Store a signed checkpoint; another writer (a cluster node) may have stored the same
        size first, which is fine only if its note is the same bytes (Ed25519 is
        deterministic: same key, same root, same note)."""
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(schema.checkpoint).values(size=size, note=note,
                                                              created_at=at))
        except IntegrityError:
            stored = self._checkpoint_note(size)
            if stored != note:
                raise LoggingFailed(f"a different checkpoint of size {size} is stored "
                                    "already: the log has forked") from None

    def _checkpoint_note(self, size: int) -> bytes | None:
        with self._engine.connect() as conn:
            note = conn.execute(select(schema.checkpoint.c.note)
                                .where(schema.checkpoint.c.size == size)).scalar_one_or_none()
        return None if note is None else bytes(note)

    def latest_checkpoint(self) -> tuple[int, bytes] | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(schema.checkpoint.c.size, schema.checkpoint.c.note)
                               .order_by(schema.checkpoint.c.size.desc()).limit(1)).first()
        return None if row is None else (int(row.size), bytes(row.note))

    def checkpoints(self, up_to: int | None = None) -> list[StoredCheckpoint]:
        """Every signed checkpoint (of at most `up_to` records), oldest first."""
        query = select(schema.checkpoint).order_by(schema.checkpoint.c.size)
        if up_to is not None:
            query = query.where(schema.checkpoint.c.size <= up_to)
        with self._engine.connect() as conn:
            return [StoredCheckpoint(int(r.size), bytes(r.note), r.created_at)
                    for r in conn.execute(query)]

    def add_timestamp(self, size: int, token: bytes, at: datetime) -> bytes:
        """Store a time-stamp of checkpoint `size` and return the one stored: the first, if
        another writer stamped the same checkpoint meanwhile."""
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(schema.timestamp).values(size=size, token=token,
                                                             created_at=at))
        except IntegrityError:
            stored = self.timestamp_of(size)
            if stored is None:
                raise
            return stored
        return token

    def timestamp_of(self, size: int) -> bytes | None:
        with self._engine.connect() as conn:
            token = conn.execute(select(schema.timestamp.c.token)
                                 .where(schema.timestamp.c.size == size)).scalar_one_or_none()
        return None if token is None else bytes(token)

    def latest_sealed(self) -> tuple[int, bytes, bytes] | None:
        """The newest checkpoint that has a time-stamp: (size, note, token)."""
        query = (select(schema.checkpoint.c.size, schema.checkpoint.c.note,
                        schema.timestamp.c.token)
                 .join(schema.timestamp, schema.timestamp.c.size == schema.checkpoint.c.size)
                 .order_by(schema.checkpoint.c.size.desc()).limit(1))
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else (int(row.size), bytes(row.note), bytes(row.token))

    # -- connections -----------------------------------------------------------------------

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
