"""Checking a live audit database against its own tree and checkpoints.

Someone with write access to the database (triggers dropped) can change, delete or reorder
rows. Every record's leaf hash must equal the tree node stored for it when it was written, the
indexes must be contiguous, the tree rebuilt from the records must give the stored root, and
every signed checkpoint's root must be the root of the records it covers. The first
discrepancy is named by index. (Rewriting records, nodes and checkpoints together is caught
by the checkpoints' signatures and time-stamps: `xroad audit verify` on an export.)
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Iterator

from sqlalchemy import and_, select

from audit import schema
from audit.merkle import leaf_hash
from audit.store import SqlAuditStore
from audit.tree import Frontier, Node
from xroad.errors import VerificationError


class TamperedLog(VerificationError):
    """The stored audit log does not match its own tree or checkpoints."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"audit log is broken at index {index}: {reason}")
        self.index = index


def _checkpoint_roots(store: SqlAuditStore) -> dict[int, bytes]:
    roots = {}
    for checkpoint in store.checkpoints():
        lines = checkpoint.note.split(b"\n")
        roots[checkpoint.size] = base64.b64decode(lines[2]) if len(lines) > 2 else b""
    return roots


def _leaves_with_nodes(store: SqlAuditStore, start: int
                       ) -> Iterator[tuple[int, bytes, bytes | None]]:
    """(index, leaf, the level-0 node stored for that index) from `start`, in index order."""
    query = (select(schema.log.c.idx, schema.log.c.leaf, schema.node.c.hash)
             .outerjoin(schema.node, and_(schema.node.c.level == 0,
                                          schema.node.c.idx == schema.log.c.idx))
             .where(schema.log.c.idx >= start).order_by(schema.log.c.idx))
    with store.engine.connect() as conn:
        for row in conn.execution_options(stream_results=True, yield_per=2000).execute(query):
            yield int(row.idx), bytes(row.leaf), None if row.hash is None else bytes(row.hash)


def check_integrity(store: SqlAuditStore) -> int:
    """Return how many live records were checked; raise `TamperedLog` at the first break."""
    size = store.size()
    roots = _checkpoint_roots(store)
    frontier = Frontier.load(store.archived_below(), store.tree.node)
    checked = 0
    for index, leaf, stored in _leaves_with_nodes(store, frontier.size):
        if index != frontier.size:
            raise TamperedLog(frontier.size, "record is missing (or the rows were re-numbered)")
        computed = leaf_hash(leaf)
        if stored is None or not hmac.compare_digest(computed, stored):
            raise TamperedLog(index, "record bytes do not match the tree")
        _compare_made(store, frontier.append([computed]))
        checked += 1
        expected = roots.get(frontier.size)
        if expected is not None and not hmac.compare_digest(frontier.root(), expected):
            raise TamperedLog(index, f"the checkpoint of size {frontier.size} does not match "
                                     "the records")
    if frontier.size != size:
        raise TamperedLog(frontier.size,
                          f"records {frontier.size}..{size - 1} are missing (truncated)")
    return checked


def _compare_made(store: SqlAuditStore, made: list[Node]) -> None:
    for node in made[1:]:  # level 0 was compared with the record already
        if not hmac.compare_digest(store.tree.node(node.level, node.index), node.hash):
            first = node.index << node.level
            raise TamperedLog(first, f"stored tree node (level {node.level}) over records "
                                     f"{first}..{first + (1 << node.level) - 1} differs")
