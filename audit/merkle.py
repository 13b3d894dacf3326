"""RFC 6962 / RFC 9162 Merkle tree: root, inclusion and consistency proofs (pure).

Leaves are hashed as `SHA-256(0x00 || data)`, interior nodes as `SHA-256(0x01 || l || r)`,
the empty tree as `SHA-256("")`. Proof generation follows RFC 9162 §2.1.3.1 and §2.1.4.1
(PATH and SUBPROOF); verification follows §2.1.3.2 and §2.1.4.2 and needs nothing but hashes,
so an auditor can check a record years later without the database.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from xroad.errors import VerificationError


class ProofError(VerificationError):
    """A Merkle proof does not lead to the expected root."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(root(leaves[:k]), root(leaves[k:]))


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, leaves): the audit path of one leaf in the tree of all `leaves`."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ValueError(f"index {index} outside a tree of {n} leaves")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*inclusion_proof(leaves[:k], index), root(leaves[k:])]
    return [*inclusion_proof(leaves[k:], index - k), root(leaves[:k])]


def consistency_proof(leaves: Sequence[bytes], size1: int) -> list[bytes]:
    """PROOF(size1, leaves): that the first `size1` leaves are a prefix of all `leaves`."""
    if not 0 < size1 <= len(leaves):
        raise ValueError(f"size {size1} outside 1..{len(leaves)}")
    return _subproof(size1, leaves, complete=True)


def _subproof(m: int, leaves: Sequence[bytes], *, complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete=complete), root(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], complete=False), root(leaves[:k])]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes],
                     expected_root: bytes) -> None:
    """RFC 9162 §2.1.3.2; raises `ProofError` unless the path leads to `expected_root`."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} outside a tree of {size} leaves")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or not hmac.compare_digest(r, expected_root):
        raise ProofError(f"record {index} is not in the tree of size {size} with that root")


def verify_consistency(size1: int, size2: int, root1: bytes, root2: bytes,
                       proof: Sequence[bytes]) -> None:
    """RFC 9162 §2.1.4.2; raises `ProofError` unless tree 2 extends tree 1 unchanged."""
    if not 0 < size1 <= size2:
        raise ProofError(f"sizes {size1} and {size2} cannot be consistent")
    if size1 == size2:
        if proof or not hmac.compare_digest(root1, root2):
            raise ProofError("same size but different roots: the log was rewritten")
        return
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # a power of two: the old root is the first node
        path = [root1, *path]
    if not path:
        raise ProofError("empty consistency proof")
    fr, sr, sn = _fold(path, size1 - 1, size2 - 1)
    if sn != 0 or not (hmac.compare_digest(fr, root1) and hmac.compare_digest(sr, root2)):
        raise ProofError(f"tree of size {size2} does not extend the tree of size {size1}")


def _fold(path: Sequence[bytes], fn: int, sn: int) -> tuple[bytes, bytes, int]:
    """The loop of RFC 9162 §2.1.4.2: both roots rebuilt from one path."""
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr, sr, sn
