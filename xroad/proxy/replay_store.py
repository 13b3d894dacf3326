"""Durable replay cache shared by every node that uses the same database."""

from __future__ import annotations

import threading
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
from sqlalchemy.exc import IntegrityError

from xroad.errors import ReplayedMessage

_metadata = MetaData()
_seen = Table(
    "replay_cache", _metadata,
    Column("client", String(1000), primary_key=True),
    Column("message_id", String(1000), primary_key=True),
    Column("seen_at", DateTime(timezone=True), nullable=False, index=True),
)
_PURGE_EVERY = 1000


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
        self._lock = threading.Lock()

    def remember(self, client: str, message_id: str, at: datetime) -> None:
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(_seen).values(client=client, message_id=message_id,
                                                  seen_at=at))
        except IntegrityError as e:
            raise ReplayedMessage(
                f"message id {message_id!r} was already used by {client}") from e
        with self._lock:
            self._count += 1
            purge = self._count % _PURGE_EVERY == 0
        if purge:
            with self._engine.begin() as conn:
                conn.execute(delete(_seen).where(_seen.c.seen_at < at - self._window))

    def close(self) -> None:
        self._engine.dispose()
