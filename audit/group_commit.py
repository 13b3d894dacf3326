"""Group commit: concurrent exchanges share one durable transaction (and one fsync).

While a batch is being committed in a worker thread, new records queue up and form the next
batch, so under load each fsync carries many records, and with one request at a time nothing
waits longer than its own commit. Every caller learns its index only once its record is
durable; if the batch fails, every caller in it gets `LoggingFailed`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from audit.record import AuditRecord
from audit.store import AuditStore
from xroad.errors import LoggingFailed

_MAX_BATCH = 512


@dataclass
class GroupCommitter:
    store: AuditStore
    max_batch: int = _MAX_BATCH
    _pending: list[tuple[AuditRecord, asyncio.Future[int]]] = field(default_factory=list,
                                                                    init=False)
    _draining: bool = field(default=False, init=False)

    async def append(self, record: AuditRecord) -> int:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append((record, future))
        if not self._draining:
            self._draining = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = self._pending[:self.max_batch]
                del self._pending[:self.max_batch]
                try:
                    indexes = await asyncio.to_thread(self.store.append_many,
                                                      [r for r, _ in batch])
                except Exception as e:
                    error = e if isinstance(e, LoggingFailed) else LoggingFailed(
                        f"audit record could not be written: {type(e).__name__}")
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (_, future), index in zip(batch, indexes, strict=True):
                    if not future.done():
                        future.set_result(index)
        finally:
            self._draining = False
