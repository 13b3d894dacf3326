"""What lets several nodes of one security server run at once on one PostgreSQL database.

The audit log already sequences appends itself (an advisory lock per batch, `audit.store`) and
the replay cache is one table with a primary key, so those are shared by construction. What is
left is here: schema creation at start (two nodes starting together must not race on
CREATE TABLE), one checkpoint signer and one archiver at a time, secrets a node creates on first
start (never two different ones), and refusing to start on a log this node cannot extend
correctly: another server's log, or one signed with another audit log key (a token directory
that was not copied from the first node).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from audit import schema
from audit.checkpoint import CheckpointError, verify
from audit.checkpointer import Checkpointer
from audit.store import SqlAuditStore

# PostgreSQL advisory lock keys (the audit sequencer's is audit.store.SEQUENCER_LOCK).
SCHEMA_LOCK: Final = 0x78726F61645F7363  # creating tables and triggers at start
CHECKPOINT_LOCK: Final = 0x78726F61645F6370  # signing and time-stamping checkpoints
ARCHIVE_LOCK: Final = 0x78726F61645F6172  # moving old records to archive bundles
_FIRST_START_LOCK_FILE: Final = ".first-start.lock"


class ClusterMisconfigured(Exception):
    """This node cannot safely share the database it was given; the message says what to fix."""


class DatabaseLock:
    """A PostgreSQL advisory lock held for a `with` block on a connection of its own (released
    by the server if this process dies); on any other database a no-op, since there is only
    one process per database there."""

    def __init__(self, url: str, key: int) -> None:
        self._key = key
        self._engine: Engine | None = None
        if url.startswith("postgresql"):
            self._engine = create_engine(url, poolclass=NullPool)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        if self._engine is None:
            yield
            return
        with self._engine.connect() as conn, conn.begin():
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": self._key})
            yield

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


@dataclass
class ClusterCheckpointer(Checkpointer):
    """A `Checkpointer` whose nodes take turns: a node that waited finds the checkpoint and
    time-stamp the other one just stored, instead of asking the TSA again for the same size."""

    turn: DatabaseLock | None = field(default=None, kw_only=True)

    def checkpoint(self) -> bytes:
        with self._turn():
            return super().checkpoint()

    def seal(self, stamp: Callable[[bytes], bytes]) -> tuple[bytes, bytes]:
        with self._turn():
            return super().seal(stamp)

    def _turn(self) -> contextlib.AbstractContextManager[None]:
        return self.turn.held() if self.turn is not None else contextlib.nullcontext()


@contextlib.contextmanager
def first_start_lock(token_dir: Path) -> Iterator[None]:
    """Held while a node creates the secrets it makes on first start (audit log key, subject
    and body seeds): nodes sharing a token directory then create each secret once. A token
    mounted read-only (a copy from the first node) needs no lock: nothing is created there."""
    token_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        handle = (token_dir / _FIRST_START_LOCK_FILE).open("a")
    except OSError:
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_if_changed(path: Path, content: str) -> None:
    """Replace `path` atomically, and only if its content differs: nodes sharing a data
    directory write the same public files at start while auditors may be reading them."""
    try:
        if path.read_text() == content:
            return
    except FileNotFoundError:
        pass
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as handle:
        handle.write(content)
    Path(tmp).chmod(0o644)
    Path(tmp).replace(path)


def check_shared_log(store: SqlAuditStore, server_id: str, key_name: str,
                     public_key: ed25519.Ed25519PublicKey | None,
                     claim: Callable[[], object] | None = None) -> None:
    """Refuse a log this node would corrupt: records of another security server (a database
    URL set machine-wide, shared by a consumer and a provider), or checkpoints this node's
    audit log key did not sign (its token was not copied from the node that started first).
    `public_key` None skips the second check (a server's own SQLite file).

    On a log without checkpoints `claim` signs one first, so that the first node's key owns
    the log from its start: a second node with another key is refused even if it starts
    before the first scheduled checkpoint."""
    with store.engine.connect() as conn:
        leaf = conn.execute(select(schema.log.c.leaf).where(
            schema.log.c.idx == select(func.max(schema.log.c.idx)).scalar_subquery())
        ).scalar_one_or_none()
    if leaf is not None:
        owner = json.loads(bytes(leaf)).get("security_server")
        if owner != server_id:
            raise ClusterMisconfigured(
                f"the audit database holds the log of security server {owner}, not of "
                f"{server_id}: give each security server its own database")
    if public_key is None:
        return
    if claim is not None and not store.checkpoints():
        claim()
    first = next(iter(store.checkpoints()), None)
    if first is None:
        return
    try:
        verify(first.note, key_name, public_key)
    except CheckpointError as e:
        fingerprint = base64.b64encode(public_key.public_bytes_raw()).decode()
        raise ClusterMisconfigured(
            f"the shared audit log's checkpoints are not signed by this node's audit log key "
            f"({fingerprint}): {e}. Nodes of one security server share one token: copy the "
            "token directory of the node that started first") from None


@contextlib.contextmanager
def schema_turn(url: str) -> Iterator[None]:
    """One node at a time creates tables and triggers in a shared database at start."""
    lock = DatabaseLock(url, SCHEMA_LOCK)
    try:
        with lock.held():
            yield
    finally:
        lock.close()
