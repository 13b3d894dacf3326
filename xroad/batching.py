"""Batch concurrent requests into one blocking call in a worker thread (group commit).

While one batch runs, new items queue up and form the next one: under load each call (one
database transaction, one fsync) serves many callers; alone, a caller waits only for its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class Batcher(Generic[Item, Result]):
    run: Callable[[Sequence[Item]], Sequence[Result]]  # one result per item, in order
    max_batch: int = 512
    _pending: list[tuple[Item, asyncio.Future[Result]]] = field(default_factory=list,
                                                                init=False)
    _draining: bool = field(default=False, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)  # keeps it alive

    async def submit(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        self._pending.append((item, future))
        if not self._draining:
            self._draining = True
            self._task = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = self._pending[:self.max_batch]
                del self._pending[:self.max_batch]
                try:
                    results = await asyncio.to_thread(self.run, [item for item, _ in batch])
                except Exception as e:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(e)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._draining = False
