"""Group commit for the audit log: concurrent exchanges share one durable transaction.

Every caller learns its index only once its record is durable; if the batch fails, every
caller in it gets `LoggingFailed`, so no exchange is delivered without its record.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from audit.record import AuditEntry
from xroad.batching import Batcher
from xroad.errors import LoggingFailed


class AuditStore(Protocol):
    def append_many(self, items: Sequence[AuditEntry]) -> list[int]: ...


class GroupCommitter:
    def __init__(self, store: AuditStore, max_batch: int = 512) -> None:
        self._store = store
        self._batcher: Batcher[AuditEntry, int] = Batcher(self._write, max_batch)

    def _write(self, entries: Sequence[AuditEntry]) -> list[int]:
        try:
            return self._store.append_many(entries)
        except LoggingFailed:
            raise
        except Exception as e:
            raise LoggingFailed(f"audit record could not be written: {type(e).__name__}") from e

    async def append(self, entry: AuditEntry) -> int:
        return await self._batcher.submit(entry)
