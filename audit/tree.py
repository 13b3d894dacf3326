"""An append-only RFC 6962 tree kept as stored *perfect subtree* hashes (pure).

Appending leaf `n` completes the subtrees whose last leaf it is: node `(level, index)` covers
leaves `[index << level, (index + 1) << level)`. Every such hash is written once, beside the
leaf, and never changes, so the root of any earlier size and every proof are assembled from
O(log n) stored nodes (O(log² n) for the right edge of a proof) instead of re-reading the log.
The algorithms are those of `audit.merkle` (RFC 9162 §2.1), which the tests hold these to.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from audit.merkle import node_hash

NodeLookup = Callable[[int, int], bytes]  # (level, index) -> hash of that perfect subtree
EMPTY_ROOT = hashlib.sha256(b"").digest()


@dataclass(frozen=True, slots=True)
class Node:
    level: int
    index: int
    hash: bytes


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


@dataclass
class Frontier:
    """The right edge of the tree: the perfect subtrees that make up `size` leaves, largest
    first. Appending needs nothing else."""

    size: int
    nodes: list[Node]

    @classmethod
    def empty(cls) -> Frontier:
        return cls(0, [])

    @classmethod
    def load(cls, size: int, node: NodeLookup) -> Frontier:
        """The frontier of a stored tree of `size` leaves."""
        nodes, start = [], 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                nodes.append(Node(level, start >> level, node(level, start >> level)))
                start += 1 << level
        return cls(size, nodes)

    def append(self, leaf_hashes: Iterable[bytes]) -> list[Node]:
        """Add leaves; return every node they complete (leaves are nodes of level 0)."""
        made: list[Node] = []
        for h in leaf_hashes:
            current = Node(0, self.size, h)
            made.append(current)
            while current.index & 1:
                left = self.nodes.pop()
                current = Node(current.level + 1, current.index >> 1,
                               node_hash(left.hash, current.hash))
                made.append(current)
            self.nodes.append(current)
            self.size += 1
        return made

    def root(self) -> bytes:
        if not self.nodes:
            return EMPTY_ROOT
        result = self.nodes[-1].hash
        for left in reversed(self.nodes[:-1]):
            result = node_hash(left.hash, result)
        return result


@dataclass(frozen=True)
class StoredTree:
    """Roots and proofs of any size up to what is stored, from node lookups."""

    node: NodeLookup

    def root(self, size: int) -> bytes:
        return self._hash(0, size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        if not 0 <= index < size:
            raise ValueError(f"index {index} outside a tree of {size} leaves")
        return self._path(index, 0, size)

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        if not 0 < size1 <= size2:
            raise ValueError(f"size {size1} outside 1..{size2}")
        return self._subproof(size1, 0, size2, complete=True)

    def _hash(self, start: int, end: int) -> bytes:
        """MTH of leaves [start, end); `start` is always aligned to the subtree size."""
        n = end - start
        if n == 0:
            return EMPTY_ROOT
        if n & (n - 1) == 0:
            level = n.bit_length() - 1
            return self.node(level, start >> level)
        k = _split(n)
        return node_hash(self._hash(start, start + k), self._hash(start + k, end))

    def _path(self, m: int, start: int, end: int) -> list[bytes]:
        n = end - start
        if n == 1:
            return []
        k = _split(n)
        if m < k:
            return [*self._path(m, start, start + k), self._hash(start + k, end)]
        return [*self._path(m - k, start + k, end), self._hash(start, start + k)]

    def _subproof(self, m: int, start: int, end: int, *, complete: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if complete else [self._hash(start, end)]
        k = _split(n)
        if m <= k:
            return [*self._subproof(m, start, start + k, complete=complete),
                    self._hash(start + k, end)]
        return [*self._subproof(m - k, start + k, end, complete=False),
                self._hash(start, start + k)]
