"""Signing checkpoints of one security server's audit log, at an interval and on demand."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import structlog
from cryptography.hazmat.primitives.asymmetric import ed25519

from audit.checkpoint import Checkpoint, sign
from audit.merkle import root
from xroad.clock import Clock

log = structlog.get_logger(__name__)


class CheckpointStore(Protocol):
    def leaf_hashes(self) -> list[bytes]: ...

    def add_checkpoint(self, size: int, note: bytes, at: datetime) -> None: ...

    def latest_checkpoint(self) -> tuple[int, bytes] | None: ...

    def add_timestamp(self, size: int, token: bytes, at: datetime) -> None: ...

    def timestamp_of(self, size: int) -> bytes | None: ...


def key_name(server_id: str) -> str:
    """The signed note's key name for a server's log (no spaces or '+')."""
    return server_id.replace("/", "-") + "-audit-log"


@dataclass
class Checkpointer:
    store: CheckpointStore
    origin: str  # e.g. "MN/GOV/GASR/ss1 audit log"
    name: str
    key: ed25519.Ed25519PrivateKey
    clock: Clock

    def checkpoint(self) -> bytes:
        """The signed checkpoint covering every record written so far (a new one only when
        the log has grown)."""
        hashes = self.store.leaf_hashes()
        latest = self.store.latest_checkpoint()
        if latest is not None and latest[0] == len(hashes):
            return latest[1]
        note = sign(Checkpoint(self.origin, len(hashes), root(hashes)), self.name, self.key)
        self.store.add_checkpoint(len(hashes), note, self.clock.now())
        log.info("audit.checkpoint", size=len(hashes))
        return note

    def seal(self, stamp: Callable[[bytes], bytes]) -> tuple[bytes, bytes]:
        """A checkpoint of everything written so far and its RFC 3161 time-stamp token over
        the SHA-512 of the note's exact bytes; `stamp` asks the TSA (it may raise)."""
        note = self.checkpoint()
        latest = self.store.latest_checkpoint()
        size = latest[0] if latest is not None else 0
        token = self.store.timestamp_of(size)
        if token is None:
            token = stamp(hashlib.sha512(note).digest())
            self.store.add_timestamp(size, token, self.clock.now())
            log.info("audit.timestamped", size=size)
        return note, token
