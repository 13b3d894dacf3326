"""Durable replay cache shared by every node that uses the same database.

Concurrent messages are checked in batches (one transaction for many), so the cache costs
one commit per batch rather than one per message; a duplicate inside a batch or against the
database is found exactly as with single inserts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    event,
    insert,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from xroad.batching import Batcher
from xroad.errors import ReplayedMessage

_metadata = MetaData()
_seen = Table(
    "replay_cache", _metadata,
    Column("client", String(1000), primary_key=True),
    Column("message_id", String(1000), primary_key=True),
    Column("seen_at", DateTime(timezone=True), nullable=False, index=True),
)
_PURGE_EVERY = 1000

Seen = tuple[str, str, datetime]  # client, message id, time


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # a power cut may forget ids, never invent them
    cursor.close()


class SqlReplayGuard:
    def __init__(self, url: str, window: timedelta) -> None:
        self._engine = create_engine(url)
        if self._engine.dialect.name == "sqlite":
            event.listen(self._engine, "connect", _sqlite_pragmas)
        _metadata.create_all(self._engine)
        self._window = window
        self._count = 0
        self._batcher: Batcher[Seen, bool] = Batcher(self._record_many)
        self._connection: Connection | None = None

    async def remember(self, client: str, message_id: str, at: datetime) -> None:
        """Raise `ReplayedMessage` if this client already used this message id."""
        if not await self._batcher.submit((client, message_id, at)):
            raise ReplayedMessage(f"message id {message_id!r} was already used by {client}")

    def _record_many(self, items: Sequence[Seen]) -> list[bool]:
        """Insert every id; True for each that was new (runs in one worker thread)."""
        fresh = self._insert_all(items)
        if fresh is None:  # a duplicate somewhere: find it row by row
            fresh = [self._insert_one(item) for item in items]
        self._count += len(items)
        if self._count >= _PURGE_EVERY:
            self._count = 0
            conn = self._conn()
            with conn.begin():
                conn.execute(delete(_seen).where(_seen.c.seen_at < items[-1][2] - self._window))
        return fresh

    def _insert_all(self, items: Sequence[Seen]) -> list[bool] | None:
        keys = [(c, m) for c, m, _ in items]
        if len(set(keys)) != len(keys):
            return None
        conn = self._conn()
        try:
            with conn.begin():
                conn.execute(insert(_seen), [{"client": c, "message_id": m, "seen_at": t}
                                             for c, m, t in items])
        except IntegrityError:
            return None
        return [True] * len(items)

    def _insert_one(self, item: Seen) -> bool:
        client, message_id, at = item
        conn = self._conn()
        try:
            with conn.begin():
                conn.execute(insert(_seen).values(client=client, message_id=message_id,
                                                  seen_at=at))
        except IntegrityError:
            return False
        return True

    def _conn(self) -> Connection:
        """One connection for the batches, which run one at a time: no pool checkout each."""
        if self._connection is None or self._connection.invalidated:
            self._connection = self._engine.connect()
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._engine.dispose()
