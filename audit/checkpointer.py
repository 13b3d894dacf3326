"""Signing checkpoints of one security server's audit log, at an interval and on demand."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import structlog
from cryptography.hazmat.primitives.asymmetric import ed25519

from audit.checkpoint import Checkpoint, sign
from xroad.clock import Clock
from xroad.errors import TimestampingFailed

log = structlog.get_logger(__name__)


class CheckpointStore(Protocol):
    def size(self) -> int: ...

    def root(self, size: int) -> bytes: ...

    def add_checkpoint(self, size: int, note: bytes, at: datetime) -> None: ...

    def latest_checkpoint(self) -> tuple[int, bytes] | None: ...

    def add_timestamp(self, size: int, token: bytes, at: datetime) -> bytes: ...

    def timestamp_of(self, size: int) -> bytes | None: ...


def key_name(server_id: str) -> str:
    """The signed note's key name for a server's log (no spaces or '+')."""
    return server_id.replace("/", "-") + "-audit-log"


@dataclass
class TimestampGuard:
    """X-Road's safety valve: if the log cannot be time-stamped for longer than `tolerance`
    (default 4 h), exchanges stop rather than pile up records nobody can prove."""

    tolerance: timedelta
    clock: Clock
    last_success: datetime | None = None
    last_error: str | None = None

    def succeeded(self) -> None:
        self.last_success, self.last_error = self.clock.now(), None

    def failed(self, reason: str) -> None:
        if self.last_success is None:
            self.last_success = self.clock.now()  # the tolerance runs from the first failure
        self.last_error = reason

    def check(self) -> None:
        """Raise `TimestampingFailed` once failures have lasted longer than the tolerance."""
        if self.last_error is None or self.last_success is None:
            return
        if self.clock.now() - self.last_success > self.tolerance:
            raise TimestampingFailed(
                f"the audit log has not been time-stamped since "
                f"{self.last_success.isoformat()} ({self.last_error}); exchanges are refused "
                "until the time-stamping authority answers again")


@dataclass
class Checkpointer:
    """Signs and seals checkpoints; the scheduler and the admin API call it from different
    threads, so one lock covers reading the log's size and storing what was signed."""

    store: CheckpointStore
    origin: str  # e.g. "MN/GOV/GASR/ss1 audit log"
    name: str
    key: ed25519.Ed25519PrivateKey
    clock: Clock
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def checkpoint(self) -> bytes:
        """The signed checkpoint covering every record written so far (a new one only when
        the log has grown)."""
        with self._lock:
            return self._checkpoint()[1]

    def seal(self, stamp: Callable[[bytes], bytes]) -> tuple[bytes, bytes]:
        """A checkpoint of everything written so far and its RFC 3161 time-stamp token over
        the SHA-512 of the note's exact bytes; `stamp` asks the TSA (it may raise)."""
        with self._lock:
            size, note = self._checkpoint()
            token = self.store.timestamp_of(size)
            if token is None:
                token = stamp(hashlib.sha512(note).digest())
                token = self.store.add_timestamp(size, token, self.clock.now())
                log.info("audit.timestamped", size=size)
            return note, token

    def _checkpoint(self) -> tuple[int, bytes]:
        """The latest checkpoint's size and note, signing a new one if the log has grown (the
        root comes from stored tree nodes: O(log n), whatever the log's size)."""
        latest = self.store.latest_checkpoint()
        size = self.store.size()
        if latest is not None and latest[0] == size:
            return latest
        note = sign(Checkpoint(self.origin, size, self.store.root(size)), self.name, self.key)
        self.store.add_checkpoint(size, note, self.clock.now())
        log.info("audit.checkpoint", size=size)
        return size, note
