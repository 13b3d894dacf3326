"""Check records.jsonl against the checkpoint, streaming: a bundle of millions of records is
read once, line by line, next to its inclusion proofs, in memory that grows by a bit per record.

Each record: its leaf decodes, the `record` copy equals it, its inclusion proof leads from
`leaf_hash(leaf)` to the checkpoint root, its signature part (if any) proves it. Across
records: indexes strictly increase and stay below the checkpoint size; a complete (or archive)
bundle holds exactly its range, and the root recomputed from all leaves is the checkpoint's.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from cryptography import x509

from audit.checkpoint import Checkpoint
from audit.evidence import (
    INCLUSION,
    MAX_LINE,
    RECORDS,
    BundleManifest,
    BundleRecord,
    EvidenceError,
    InclusionEntry,
    decode_leaf,
    iter_lines,
    parse_inclusion_line,
    parse_record_line,
)
from audit.findings import Findings, short
from audit.merkle import ProofError, leaf_hash, node_hash, verify_inclusion
from audit.verifier_signatures import check_signature

_MAX_BITMAP: Final = 1 << 28  # indexes tracked in a bitmap up to this range, in a set beyond
_MAX_STASHED_PROOFS: Final = 10_000


@dataclass(frozen=True, slots=True)
class RecordsSummary:
    records: int
    signatures_checked: int
    signatures_absent: int  # the record names a signature, the bundle does not carry it
    prefix_roots: Mapping[int, bytes]  # roots of the first m leaves, for known checkpoints


class RootBuilder:
    """The RFC 6962 root of leaves fed one by one, in O(log n) memory (a stack of the
    perfect subtrees so far; folding them right to left gives MTH)."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []
        self.size = 0

    def add(self, leaf_digest: bytes) -> None:
        node = (1, leaf_digest)
        while self._stack and self._stack[-1][0] == node[0]:
            size, left = self._stack.pop()
            node = (size * 2, node_hash(left, node[1]))
        self._stack.append(node)
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return hashlib.sha256(b"").digest()
        result = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            result = node_hash(left, result)
        return result


class IndexSet:
    """Which indexes were seen: a bitmap over the expected range, a set otherwise."""

    def __init__(self, expected: range | None) -> None:
        self._range = expected if expected is not None and len(expected) <= _MAX_BITMAP else None
        self._bits = bytearray((len(self._range) + 7) // 8) if self._range is not None else None
        self._set: set[int] = set()

    def add(self, index: int) -> bool:
        """Mark `index`; False if it was already there."""
        if self._bits is not None and self._range is not None and index in self._range:
            offset = index - self._range.start
            byte, bit = divmod(offset, 8)
            if self._bits[byte] >> bit & 1:
                return False
            self._bits[byte] |= 1 << bit
            return True
        if index in self._set:
            return False
        self._set.add(index)
        return True

    def missing(self, expected: range) -> Iterator[range]:
        """Runs of indexes in `expected` never seen, in time proportional to the indexes seen
        (a hostile manifest may claim 10^18 records and hold none)."""
        pending: range | None = None
        for gap in self._gaps(expected):
            if pending is not None and pending.stop == gap.start:
                pending = range(pending.start, gap.stop)
                continue
            if pending is not None:
                yield pending
            pending = gap
        if pending is not None:
            yield pending

    def _gaps(self, expected: range) -> Iterator[range]:
        if self._bits is not None and self._range == expected:
            yield from self._bitmap_gaps(self._bits, expected)
            return
        cursor = expected.start
        for index in sorted(i for i in self._set if i in expected):
            if index > cursor:
                yield range(cursor, index)
            cursor = index + 1
        if cursor < expected.stop:
            yield range(cursor, expected.stop)

    @staticmethod
    def _bitmap_gaps(bits: bytearray, expected: range) -> Iterator[range]:
        size = len(expected)
        for match in re.finditer(rb"\x00+|[^\x00\xff]", bits):
            if bits[match.start()] == 0:  # a run of bytes with no index seen
                start, stop = match.start() * 8, min(match.end() * 8, size)
                yield range(expected.start + start, expected.start + stop)
                continue
            byte = match.start()
            for bit in range(8):
                offset = byte * 8 + bit
                if offset < size and not bits[byte] >> bit & 1:
                    yield range(expected.start + offset, expected.start + offset + 1)


class ProofCursor:
    """Inclusion proofs read alongside the records, matched by index. Proofs passed over
    (their record comes later, e.g. reordered lines) wait in a bounded stash."""

    def __init__(self, path: Path, findings: Findings) -> None:
        self._findings = findings
        self._lines = iter_lines(path)
        self._ahead: InclusionEntry | None = None
        self._stash: dict[int, InclusionEntry] = {}
        self.available = path.is_file()
        if not self.available:
            findings.add(INCLUSION, "missing" if not path.exists() else "not a regular file")

    def take(self, index: int) -> InclusionEntry | None:
        if index in self._stash:
            return self._stash.pop(index)
        while (entry := self._next()) is not None:
            if entry.index >= index:
                if entry.index == index:
                    return entry
                self._ahead = entry
                return None
            self._set_aside(entry)
        return None

    def finish(self) -> None:
        """Report proofs no record line claimed (a record line deleted, or a proof repeated)."""
        while (entry := self._next()) is not None:
            self._set_aside(entry)
        for index in sorted(self._stash):
            self._findings.add(INCLUSION, f"the proof for record {index} matches no record line "
                               "(record deleted, or proof repeated)", index)

    def _set_aside(self, entry: InclusionEntry) -> None:
        if entry.index in self._stash or len(self._stash) >= _MAX_STASHED_PROOFS:
            self._findings.add(INCLUSION, f"the proof for record {entry.index} matches no "
                               "record line (record deleted, or proof repeated)", entry.index)
        else:
            self._stash[entry.index] = entry

    def _next(self) -> InclusionEntry | None:
        if self._ahead is not None:
            entry, self._ahead = self._ahead, None
            return entry
        if not self.available:
            return None
        try:
            for number, line in self._lines:
                try:
                    if line is None:
                        raise EvidenceError(f"longer than {MAX_LINE} bytes")
                    return parse_inclusion_line(line)
                except EvidenceError as e:
                    self._findings.add(f"{INCLUSION} line {number}", str(e))
        except EvidenceError as e:  # the file itself cannot be read
            self._findings.add(INCLUSION, str(e))
            self.available = False
        return None


@dataclass
class RecordsCheck:
    bundle: Path
    manifest: BundleManifest
    tree: Checkpoint | None  # the verified checkpoint; None if it could not be verified
    approved_cas: Sequence[x509.Certificate] | None  # None: ca-chain.pem was unusable
    findings: Findings
    prefix_sizes: Collection[int] = ()
    count: int = 0
    signatures_checked: int = 0
    signatures_absent: int = 0
    highest: int = -1
    in_sequence: bool = True  # every record so far sat at its own index, from 0
    prefix_roots: dict[int, bytes] = field(default_factory=dict)

    def run(self) -> RecordsSummary:
        size = self.tree.size if self.tree is not None else self.manifest.checkpoint_size
        expected = self._expected(size)
        seen, builder = IndexSet(expected), RootBuilder()
        proofs = ProofCursor(self.bundle / INCLUSION, self.findings)
        try:
            for number, line in iter_lines(self.bundle / RECORDS):
                record = self._parse(number, line)
                if record is not None:
                    self._check(record, size, seen, builder, proofs)
        except EvidenceError as e:
            self.findings.add(RECORDS, str(e))
        proofs.finish()
        self._finish(expected, seen, builder)
        return RecordsSummary(self.count, self.signatures_checked, self.signatures_absent,
                              self.prefix_roots)

    def _expected(self, size: int) -> range | None:
        archive = self.manifest.archive
        if archive is not None:
            if archive.end > size or archive.start > archive.end:
                self.findings.add("manifest.json", f"archive range {archive.start}.."
                                  f"{archive.end} is not within the checkpoint's {size} records")
            return range(archive.start, min(archive.end, size))
        return range(size) if self.manifest.complete else None

    def _parse(self, number: int, line: bytes | None) -> BundleRecord | None:
        self.in_sequence = self.in_sequence and line is not None
        try:
            if line is None:
                raise EvidenceError(f"longer than {MAX_LINE} bytes")
            return parse_record_line(line)
        except EvidenceError as e:
            self.in_sequence = False
            self.findings.add(f"{RECORDS} line {number}", str(e))
            return None

    def _check(self, record: BundleRecord, size: int, seen: IndexSet, builder: RootBuilder,
               proofs: ProofCursor) -> None:
        index, digest = record.index, leaf_hash(record.leaf)
        self.count += 1
        fresh = self._check_position(index, size, seen)
        self.in_sequence = self.in_sequence and index == builder.size
        builder.add(digest)
        if self.in_sequence and builder.size in self.prefix_sizes:
            self.prefix_roots[builder.size] = builder.root()
        fields = self._check_leaf(record)
        if fresh and proofs.available:
            self._check_inclusion(index, digest, proofs.take(index))
        if record.signature is not None and fields is not None:
            self._check_signature(index, record.signature, fields)
        elif fields is not None and fields.get("signature_digest") is not None:
            self.signatures_absent += 1

    def _check_position(self, index: int, size: int, seen: IndexSet) -> bool:
        """Name duplicates, reordering and indexes past the checkpoint; True if `index` is new."""
        if index >= size:
            self.findings.record(index, f"index is not below the checkpoint size {size}")
        if not seen.add(index):
            self.findings.record(index, "appears more than once")
            return False
        if index < self.highest:
            self.findings.record(index, f"out of order: listed after record {self.highest}")
        self.highest = max(self.highest, index)
        return True

    def _check_leaf(self, record: BundleRecord) -> dict[str, Any] | None:
        try:
            fields = decode_leaf(record.leaf)
        except EvidenceError as e:
            self.findings.record(record.index, f"leaf is not a JSON object: {e}")
            return None
        if not _same(record.record, fields):
            self.findings.record(record.index, "the 'record' copy differs from the leaf in "
                                 f"{_differences(record.record, fields)}")
        server = fields.get("security_server")
        if server != self.manifest.server:
            self.findings.record(record.index, f"security_server {short(server)} is not the "
                                 f"bundle's server {self.manifest.server!r}")
        return fields

    def _check_inclusion(self, index: int, digest: bytes, proof: InclusionEntry | None) -> None:
        if proof is None:
            self.findings.record(index, f"has no inclusion proof in {INCLUSION}")
            return
        if not hmac.compare_digest(proof.leaf_hash, digest):
            self.findings.record(index, "leaf_hash of its inclusion proof is not the hash of "
                                 "the leaf (leaf altered)")
        if self.tree is None:
            return
        if proof.tree_size != self.tree.size:
            self.findings.record(index, f"inclusion proof is for a tree of {proof.tree_size} "
                                 f"records, not the checkpoint's {self.tree.size}")
            return
        try:
            verify_inclusion(digest, index, self.tree.size, proof.audit_path, self.tree.root)
        except ProofError as e:
            self.findings.record(index, f"inclusion proof does not lead to the checkpoint "
                                 f"root: {e}")

    def _check_signature(self, index: int, signature: bytes, fields: Mapping[str, Any]) -> None:
        if self.approved_cas is None:
            return  # certs/ca-chain.pem is reported unusable once, not per record
        self.signatures_checked += 1
        for problem in check_signature(signature, fields, self.approved_cas,
                                       self.manifest.ocsp_freshness_s):
            self.findings.record(index, problem)

    def _finish(self, expected: range | None, seen: IndexSet, builder: RootBuilder) -> None:
        if self.count != self.manifest.record_count:
            self.findings.add(RECORDS, f"holds {self.count} records, the manifest says "
                              f"{self.manifest.record_count}")
        if expected is None:
            return
        for run in seen.missing(expected):
            where = f"record {run.start}" if len(run) == 1 else f"records {run.start}..{run[-1]}"
            self.findings.add(where, "missing" + (" (the bundle ends early)"
                                                  if run.stop == expected.stop else ""),
                              run.start)
        if (self.tree is not None and self.manifest.complete and self.in_sequence
                and builder.size == self.tree.size
                and not hmac.compare_digest(builder.root(), self.tree.root)):
            self.findings.add(RECORDS, f"the Merkle root of all {builder.size} leaves is not "
                              "the checkpoint root")


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except RecursionError:  # nested deeper than Python compares: not what a leaf holds
        return False


def _differences(copy: Any, fields: Mapping[str, Any]) -> str:
    if not isinstance(copy, dict):
        return "type (not a JSON object)"
    keys = sorted(k for k in copy.keys() | fields.keys()
                  if (k in copy) != (k in fields) or not _same(copy.get(k), fields.get(k)))
    return ", ".join(short(k, 40) for k in keys[:10]) + (", ..." if len(keys) > 10 else "")


def check_records(bundle: Path, manifest: BundleManifest, tree: Checkpoint | None,
                  approved_cas: Sequence[x509.Certificate] | None, findings: Findings, *,
                  prefix_sizes: Collection[int] = ()) -> RecordsSummary:
    return RecordsCheck(bundle, manifest, tree, approved_cas, findings,
                        frozenset(prefix_sizes)).run()
