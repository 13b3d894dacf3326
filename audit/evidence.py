"""Audit evidence bundles (format "xroad-bus-audit-evidence/1"): what the files hold, how they
are written, and bounded readers for the offline verifier (`audit.verifier`).

A bundle is a directory an auditor can check years later with nothing but the bundle and
standard tools (`docs/audit-evidence.md`). Everything in it is an exact copy of bytes the log
holds: leaves, the signed checkpoint note, the time-stamp token, the signature parts. Nothing
is re-serialized, so no re-encoding step can make evidence disagree with the log.
"""

from __future__ import annotations

import base64
import binascii
import json
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Final

from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from audit.checkpoint import Checkpoint, CheckpointError, key_id, verify
from audit.merkle import leaf_hash
from xroad.clock import require_aware
from xroad.errors import XRoadError
from xroad.messages import untrusted_json as uj
from xroad.signing.ocsp import DEFAULT_FRESHNESS_S
from xroad.signing.timestamp import TimeStampResp

FORMAT: Final = "xroad-bus-audit-evidence/1"
MANIFEST: Final = "manifest.json"
RECORDS: Final = "records.jsonl"
CHECKPOINT: Final = "checkpoint"
TIMESTAMP: Final = "checkpoint.tsr"
INCLUSION: Final = "proofs/inclusion.jsonl"
CONSISTENCY: Final = "proofs/consistency.jsonl"
LOG_KEY: Final = "certs/log-key.pub"
TSA_CHAIN: Final = "certs/tsa-chain.pem"
CA_CHAIN: Final = "certs/ca-chain.pem"

# Bounds for reading a bundle nobody vouches for yet: one line or file never fills memory.
MAX_LINE: Final = 1024 * 1024
MAX_SMALL_FILE: Final = 1024 * 1024
_ED25519: Final = b"\x01"
_CHUNK: Final = 64 * 1024


class EvidenceError(XRoadError):
    """An evidence bundle cannot be written, or a part of it is not in the bundle format."""


@dataclass(frozen=True, slots=True)
class LogKey:
    """The log's checkpoint key: the name in the signed note and the Ed25519 public key."""

    name: str
    public_key: ed25519.Ed25519PublicKey


def encode_vkey(key: LogKey) -> str:
    """C2SP note verifier key: `<name>+<hex key id>+<base64(0x01 || raw public key)>`."""
    raw = key.public_key.public_bytes(serialization.Encoding.Raw,
                                      serialization.PublicFormat.Raw)
    return (f"{key.name}+{key_id(key.name, key.public_key).hex()}+"
            f"{base64.b64encode(_ED25519 + raw).decode()}")


def decode_vkey(text: str) -> LogKey:
    """Parse a vkey; the key id must match the name and key, as C2SP requires."""
    parts = text.strip().split("+", 2)  # base64 may hold "+" too
    if len(parts) != 3 or not parts[0] or any(c.isspace() for c in parts[0]):
        raise EvidenceError("not a note verifier key (<name>+<key id>+<key>)")
    name, hex_id, key_b64 = parts
    try:
        blob = base64.b64decode(key_b64, validate=True)
        expected_id = bytes.fromhex(hex_id)
    except (binascii.Error, ValueError) as e:
        raise EvidenceError(f"verifier key is not hex and base64: {e}") from e
    if len(blob) != 33 or blob[:1] != _ED25519:
        raise EvidenceError("verifier key is not an Ed25519 key (algorithm byte 0x01)")
    public_key = ed25519.Ed25519PublicKey.from_public_bytes(blob[1:])
    if len(expected_id) != 4 or key_id(name, public_key) != expected_id:
        raise EvidenceError("verifier key id does not match its name and key")
    return LogKey(name, public_key)


def timestamp_response(token_der: bytes) -> bytes:
    """Wrap a stored RFC 3161 token as a granted TimeStampResp (what `openssl ts` reads)."""
    try:
        token = cms.ContentInfo.load(token_der, strict=True)
    except ValueError as e:
        raise EvidenceError("the time-stamp token is not DER ContentInfo") from e
    response: bytes = TimeStampResp({"status": tsp.PKIStatusInfo({"status": "granted"}),
                                     "time_stamp_token": token}).dump()
    return response


def timestamp_token(response_der: bytes) -> bytes:
    """The token in a granted TimeStampResp; `EvidenceError` for anything else."""
    try:
        response = TimeStampResp.load(response_der, strict=True)
        status = response["status"]["status"].native
        token_der: bytes = response["time_stamp_token"].dump()  # b"" when absent
    except (ValueError, TypeError, KeyError) as e:
        raise EvidenceError("not a DER TimeStampResp") from e
    if status not in ("granted", "granted_with_mods") or not token_der:
        raise EvidenceError(f"the time-stamp response was not granted (status {status})")
    return token_der


@dataclass(frozen=True, slots=True)
class ArchiveRange:
    """An archive bundle holds exactly the records `start <= index < end` of the log."""

    sequence: int
    start: int
    end: int
    previous_digest: str | None  # bundle_digest() of archive `sequence - 1`


@dataclass(frozen=True, slots=True)
class ExportMetadata:
    """What the exporting security server says about a bundle it writes."""

    server: str
    exported_at: datetime
    filters: Mapping[str, str] = field(default_factory=dict)
    ocsp_freshness_s: int = DEFAULT_FRESHNESS_S
    archive: ArchiveRange | None = None


@dataclass(frozen=True, slots=True)
class BundleManifest:
    server: str
    origin: str
    log_key_name: str
    checkpoint_size: int
    complete: bool  # no filter: the records are exactly 0..checkpoint_size-1
    filters: Mapping[str, Any]
    record_count: int
    exported_at: datetime
    ocsp_freshness_s: int
    archive: ArchiveRange | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "format": FORMAT, "server": self.server, "origin": self.origin,
            "log_key_name": self.log_key_name, "checkpoint_size": self.checkpoint_size,
            "complete": self.complete, "filters": dict(self.filters),
            "record_count": self.record_count, "exported_at": self.exported_at.isoformat(),
            "ocsp_freshness_s": self.ocsp_freshness_s}
        if self.archive is not None:
            doc["archive"] = {"sequence": self.archive.sequence, "start": self.archive.start,
                              "end": self.archive.end,
                              "previous_digest": self.archive.previous_digest}
        return doc


@dataclass(frozen=True, slots=True)
class BundleRecord:
    """One line of records.jsonl: the leaf is authoritative, `record` only a convenience."""

    index: int
    leaf: bytes
    record: Any  # the decoded JSON copy as found in the line
    signature: bytes | None  # the exact signature part bytes, when the log kept them


@dataclass(frozen=True, slots=True)
class InclusionEntry:
    index: int
    tree_size: int
    leaf_hash: bytes
    audit_path: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class EarlierCheckpoint:
    """A checkpoint the log signed before, and the consistency proof from it to the bundle's."""

    size: int
    note: bytes
    proof: tuple[bytes, ...]


# --- reading ----------------------------------------------------------------------------------

def read_small(path: Path, limit: int = MAX_SMALL_FILE) -> bytes:
    """A whole file of at most `limit` bytes; only regular files (never a FIFO or device)."""
    if not path.is_file():
        raise EvidenceError("missing" if not path.exists() else "not a regular file")
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise EvidenceError(f"cannot be read: {e.strerror or e}") from e
    if len(data) > limit:
        raise EvidenceError(f"larger than {limit} bytes")
    return data


def iter_lines(path: Path, max_line: int = MAX_LINE) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes) for each line; None for a line longer than `max_line` bytes."""
    if not path.is_file():
        raise EvidenceError("missing" if not path.exists() else "not a regular file")
    try:
        f = path.open("rb")
    except OSError as e:
        raise EvidenceError(f"cannot be read: {e.strerror or e}") from e
    with f:
        number = 0
        while line := f.readline(max_line + 1):
            number += 1
            if len(line) > max_line and not line.endswith(b"\n"):
                _skip_rest_of_line(f)
                yield number, None
            else:
                yield number, line.rstrip(b"\r\n")


def _skip_rest_of_line(f: IO[bytes]) -> None:
    while (chunk := f.readline(_CHUNK)) and not chunk.endswith(b"\n"):
        pass


def json_object(data: bytes) -> dict[str, Any]:
    try:
        return uj.obj(uj.loads(data.decode("utf-8")))
    except UnicodeDecodeError as e:
        raise EvidenceError("not UTF-8") from e
    except ValueError as e:
        raise EvidenceError(f"not a JSON object: {e}") from e


def _integer(doc: Mapping[str, Any], key: str, minimum: int = 0) -> int:
    value = doc.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise EvidenceError(f"{key!r} must be an integer >= {minimum}")
    return value


def _base64(value: Any, key: str) -> bytes:
    if not isinstance(value, str):
        raise EvidenceError(f"{key!r} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as e:
        raise EvidenceError(f"{key!r} is not base64") from e


def _bytes(doc: Mapping[str, Any], key: str) -> bytes:
    return _base64(doc.get(key), key)


def _hash(value: Any, key: str) -> bytes:
    digest = _base64(value, key)
    if len(digest) != 32:
        raise EvidenceError(f"{key!r} holds a value that is not a SHA-256 hash")
    return digest


def _hashes(doc: Mapping[str, Any], key: str) -> tuple[bytes, ...]:
    values = doc.get(key)
    if not isinstance(values, list) or len(values) > 128:  # deeper than any 2^64 tree
        raise EvidenceError(f"{key!r} must be a list of base64 SHA-256 hashes")
    return tuple(_hash(v, key) for v in values)


def parse_record_line(line: bytes) -> BundleRecord:
    doc = json_object(line)
    signature = None if doc.get("signature") is None else _bytes(doc, "signature")
    if "record" not in doc:
        raise EvidenceError("no 'record' copy of the leaf")
    return BundleRecord(_integer(doc, "index"), _bytes(doc, "leaf"), doc["record"], signature)


def parse_inclusion_line(line: bytes) -> InclusionEntry:
    doc = json_object(line)
    return InclusionEntry(_integer(doc, "index"), _integer(doc, "tree_size", 1),
                          _hash(doc.get("leaf_hash"), "leaf_hash"), _hashes(doc, "audit_path"))


def parse_history_line(line: bytes) -> EarlierCheckpoint:
    doc = json_object(line)
    return EarlierCheckpoint(_integer(doc, "size"), _bytes(doc, "note"), _hashes(doc, "proof"))


def decode_leaf(leaf: bytes) -> dict[str, Any]:
    """The leaf's fields; unknown fields are kept (records gain fields over time)."""
    return json_object(leaf)


def read_manifest(bundle: Path) -> BundleManifest:
    """The manifest, or `EvidenceError` when `bundle` is not an evidence bundle at all."""
    if not bundle.is_dir():
        raise EvidenceError(f"{bundle} is not a directory")
    try:
        doc = json_object(read_small(bundle / MANIFEST))
    except EvidenceError as e:
        raise EvidenceError(f"{MANIFEST}: {e}") from e
    if doc.get("format") != FORMAT:
        raise EvidenceError(f"{MANIFEST}: format is not {FORMAT!r}")
    try:
        return _manifest(doc)
    except KeyError as e:
        raise EvidenceError(f"{MANIFEST}: no {e}") from e
    except (EvidenceError, ValueError) as e:
        raise EvidenceError(f"{MANIFEST}: {e}") from e


def _manifest(doc: dict[str, Any]) -> BundleManifest:
    filters, archive, complete = doc.get("filters"), doc.get("archive"), doc.get("complete")
    if not isinstance(filters, dict) or not isinstance(complete, bool):
        raise EvidenceError("'filters' must be an object and 'complete' true or false")
    return BundleManifest(
        server=uj.text(doc, "server"), origin=uj.text(doc, "origin"),
        log_key_name=uj.text(doc, "log_key_name"),
        checkpoint_size=_integer(doc, "checkpoint_size"), complete=complete, filters=filters,
        record_count=_integer(doc, "record_count"),
        exported_at=require_aware(datetime.fromisoformat(uj.text(doc, "exported_at"))),
        ocsp_freshness_s=_integer(doc, "ocsp_freshness_s", 1),
        archive=None if archive is None else _archive(archive))


def _archive(value: Any) -> ArchiveRange:
    doc = uj.obj(value)
    previous = uj.optional_text(doc, "previous_digest")
    return ArchiveRange(_integer(doc, "sequence"), _integer(doc, "start"), _integer(doc, "end"),
                        previous)


# --- writing ----------------------------------------------------------------------------------

def _line(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _pem(certs: Sequence[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _prepare(out: Path) -> None:
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise EvidenceError(f"{out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        raise EvidenceError(f"{out} is not empty: a bundle is written only into a new directory")
    out.parent.mkdir(parents=True, exist_ok=True)


@dataclass
class _RecordWriter:
    """Writes records.jsonl and proofs/inclusion.jsonl together, checking the index order."""

    records: IO[bytes]
    proofs: IO[bytes]
    checkpoint: Checkpoint
    inclusion_proof: Callable[[int], Sequence[bytes]]
    expected: range | None  # the exact indexes a complete or archive bundle must hold
    count: int = 0
    last: int = -1

    def write(self, index: int, leaf: bytes, signature: bytes | None) -> None:
        if not self.last < index < self.checkpoint.size:
            raise EvidenceError(f"record {index}: not after {self.last} and below "
                                f"{self.checkpoint.size}")
        if self.expected is not None and index != self.expected.start + self.count:
            missing = self.expected.start + self.count
            raise EvidenceError(f"record {missing} is missing from the log (the next one is "
                                f"{index}): the bundle must hold records "
                                f"{self.expected.start}..{self.expected.stop - 1}")
        try:
            copy = decode_leaf(leaf)
        except EvidenceError as e:
            raise EvidenceError(f"record {index}: leaf {e}") from e
        self.records.write(_line({"index": index, "leaf": _b64(leaf), "record": copy,
                                  "signature": None if signature is None else _b64(signature)}))
        self.proofs.write(_line({
            "index": index, "tree_size": self.checkpoint.size, "leaf_hash": _b64(leaf_hash(leaf)),
            "audit_path": [_b64(h) for h in self.inclusion_proof(index)]}))
        self.count, self.last = self.count + 1, index

    def finish(self) -> None:
        if self.expected is not None and self.count != len(self.expected):
            raise EvidenceError(f"records {self.expected.start + self.count}.."
                                f"{self.expected.stop - 1} are missing from the log (truncated)")


def _expected(metadata: ExportMetadata, size: int) -> range | None:
    archive = metadata.archive
    if archive is not None:
        if not 0 <= archive.start <= archive.end <= size:
            raise EvidenceError(f"archive range {archive.start}..{archive.end} is outside the "
                                f"checkpoint's {size} records")
        return range(archive.start, archive.end)
    return None if metadata.filters else range(size)


def write_bundle(out: Path, *, records: Iterable[tuple[int, bytes, bytes | None]],
                 checkpoint_note: bytes, timestamp_token_der: bytes,
                 inclusion_proof: Callable[[int], Sequence[bytes]],
                 history: Iterable[EarlierCheckpoint], log_key: LogKey,
                 tsa_chain: Sequence[x509.Certificate], ca_chain: Sequence[x509.Certificate],
                 metadata: ExportMetadata) -> BundleManifest:
    """Write a bundle into `out` (new or empty): records as (index, leaf, signature part bytes
    or None) in index order, `inclusion_proof(index)` the audit path to the checkpoint.

    The files are written into a temporary sibling directory renamed into place at the end, so
    an interrupted export never leaves something that looks like a bundle.
    """
    _prepare(out)
    try:
        checkpoint = verify(checkpoint_note, log_key.name, log_key.public_key)
    except CheckpointError as e:
        raise EvidenceError(f"the checkpoint is not signed by the log key: {e}") from e
    expected = _expected(metadata, checkpoint.size)
    tsr = timestamp_response(timestamp_token_der)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        (work / "proofs").mkdir()
        (work / "certs").mkdir()
        with (work / RECORDS).open("wb") as rf, (work / INCLUSION).open("wb") as pf:
            writer = _RecordWriter(rf, pf, checkpoint, inclusion_proof, expected)
            for index, leaf, signature in records:
                writer.write(index, leaf, signature)
            writer.finish()
        _write_history(work / CONSISTENCY, history, checkpoint.size)
        (work / CHECKPOINT).write_bytes(checkpoint_note)
        (work / TIMESTAMP).write_bytes(tsr)
        (work / LOG_KEY).write_text(encode_vkey(log_key) + "\n", encoding="utf-8")
        (work / TSA_CHAIN).write_bytes(_pem(tsa_chain))
        (work / CA_CHAIN).write_bytes(_pem(ca_chain))
        manifest = BundleManifest(
            server=metadata.server, origin=checkpoint.origin, log_key_name=log_key.name,
            checkpoint_size=checkpoint.size,
            complete=not metadata.filters and metadata.archive is None,
            filters=dict(metadata.filters), record_count=writer.count,
            exported_at=require_aware(metadata.exported_at),
            ocsp_freshness_s=metadata.ocsp_freshness_s, archive=metadata.archive)
        (work / MANIFEST).write_text(
            json.dumps(manifest.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        if out.is_dir():
            out.rmdir()
        work.rename(out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return manifest


def _write_history(path: Path, history: Iterable[EarlierCheckpoint], size: int) -> None:
    with path.open("wb") as f:
        for entry in history:
            if not 0 < entry.size <= size:
                raise EvidenceError(f"earlier checkpoint of size {entry.size} is not within "
                                    f"1..{size}")
            f.write(_line({"size": entry.size, "note": _b64(entry.note),
                           "proof": [_b64(h) for h in entry.proof]}))
