"""Verify an audit evidence bundle offline: no database, no network, only the bundle's bytes.

Order matters only for what depends on what: the log key (certs/log-key.pub) checks the
checkpoint; the checkpoint's root checks every inclusion and consistency proof; the time-stamp
must cover the exact checkpoint bytes and chain to certs/tsa-chain.pem at its own genTime (so a
bundle still verifies after the TSA certificate expired). Every problem is collected and named
(`audit.findings`), with the record index where there is one.

What the bundle cannot prove about itself: that its log key and CA roots are the right ones.
The report lists them, and a checkpoint the auditor saved earlier (`known_checkpoint`) pins
the log: it must be a prefix of the bundle's checkpoint.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes

from audit.checkpoint import Checkpoint, CheckpointError, verify
from audit.evidence import (
    CA_CHAIN,
    CHECKPOINT,
    CONSISTENCY,
    LOG_KEY,
    MANIFEST,
    MAX_LINE,
    TIMESTAMP,
    TSA_CHAIN,
    BundleManifest,
    EarlierCheckpoint,
    EvidenceError,
    LogKey,
    decode_vkey,
    encode_vkey,
    iter_lines,
    parse_history_line,
    read_manifest,
    read_small,
    timestamp_token,
)
from audit.findings import DEFAULT_LIMIT, Findings, Problem
from audit.merkle import ProofError, verify_consistency
from audit.verifier_records import check_records
from xroad.errors import MalformedSignature, VerificationError
from xroad.signing.timestamp import verify_timestamp

_MAX_NOTE: Final = 16 * 1024
_MAX_VKEY: Final = 4096
KNOWN: Final = "known checkpoint"


@dataclass(frozen=True, slots=True)
class Report:
    bundle: Path
    server: str
    origin: str
    log_key: str | None  # the vkey the checkpoint verified with, for the auditor to compare
    checkpoint_size: int
    root: bytes | None  # None when the checkpoint could not be verified
    timestamp: datetime | None  # the TSA's genTime, when the time-stamp verified
    complete: bool
    records: int
    signatures_checked: int
    signatures_absent: int
    earlier_checkpoints: int  # consistent entries of proofs/consistency.jsonl
    known_checkpoint: int | None  # its size, when a known checkpoint was given and consistent
    trust_anchors: tuple[str, ...]  # self-signed roots the chains end in: subject and SHA-256
    problems: tuple[Problem, ...]
    problems_not_listed: int

    @property
    def ok(self) -> bool:
        return not self.problems and self.problems_not_listed == 0

    @property
    def root_hex(self) -> str | None:
        return None if self.root is None else self.root.hex()

    @property
    def log_key_name(self) -> str | None:
        return None if self.log_key is None else self.log_key.split("+", 1)[0]


def verify_bundle(path: Path, *, known_checkpoint: bytes | None = None,
                  max_problems: int = DEFAULT_LIMIT) -> Report:
    """Check every part of the bundle at `path`; `EvidenceError` only if it is not a bundle
    at all (no directory, no readable manifest.json in this format)."""
    manifest = read_manifest(path)
    findings = Findings(max_problems)
    _check_manifest(manifest, findings)
    key = _log_key(path, manifest, findings)
    note, tree = _checkpoint(path, manifest, key, findings)
    tsa_chain, ca_chain = (_chain(path, name, findings) for name in (TSA_CHAIN, CA_CHAIN))
    gen_time = _timestamp(path, note, tsa_chain, findings)
    history = _history(path, key, tree, findings)
    known = _known(known_checkpoint, key, findings)
    summary = check_records(path, manifest, tree, _cas(ca_chain), findings,
                            prefix_sizes=() if known is None else (known.size,))
    consistent_known = None
    if known is not None and tree is not None:
        roots = [r for r in (history.get(known.size), summary.prefix_roots.get(known.size))
                 if r is not None]
        consistent_known = _check_known(known, tree, roots, findings)
    return Report(
        bundle=path, server=manifest.server, origin=manifest.origin,
        log_key=None if key is None else encode_vkey(key),
        checkpoint_size=manifest.checkpoint_size if tree is None else tree.size,
        root=None if tree is None else tree.root, timestamp=gen_time,
        complete=manifest.complete, records=summary.records,
        signatures_checked=summary.signatures_checked,
        signatures_absent=summary.signatures_absent, earlier_checkpoints=len(history),
        known_checkpoint=consistent_known,
        trust_anchors=_anchors([*(tsa_chain or ()), *(ca_chain or ())]),
        problems=tuple(findings.problems), problems_not_listed=findings.not_listed)


def _check_manifest(manifest: BundleManifest, findings: Findings) -> None:
    if manifest.complete and (manifest.filters or manifest.archive is not None):
        findings.add(MANIFEST, "says complete, but names filters or an archive range")
    if not manifest.complete and not manifest.filters and manifest.archive is None:
        findings.add(MANIFEST, "says incomplete, but names no filter or archive range")


def _log_key(bundle: Path, manifest: BundleManifest, findings: Findings) -> LogKey | None:
    try:
        key = decode_vkey(read_small(bundle / LOG_KEY, _MAX_VKEY).decode("utf-8"))
    except UnicodeDecodeError:
        findings.add(LOG_KEY, "not UTF-8")
        return None
    except EvidenceError as e:
        findings.add(LOG_KEY, str(e))
        return None
    if key.name != manifest.log_key_name:
        findings.add(LOG_KEY, f"names key {key.name!r}, the manifest {manifest.log_key_name!r}")
    return key


def _signed_checkpoint(note: bytes, key: LogKey) -> Checkpoint:
    try:
        return verify(note, key.name, key.public_key)
    except UnicodeDecodeError as e:
        raise CheckpointError("checkpoint signature lines are not UTF-8") from e
    except ValueError as e:  # a signed note whose size is no integer Python will parse
        raise CheckpointError(f"checkpoint text is malformed: {e}") from e


def _checkpoint(bundle: Path, manifest: BundleManifest, key: LogKey | None,
                findings: Findings) -> tuple[bytes | None, Checkpoint | None]:
    try:
        note = read_small(bundle / CHECKPOINT, _MAX_NOTE)
    except EvidenceError as e:
        findings.add(CHECKPOINT, str(e))
        return None, None
    if key is None:
        findings.add(CHECKPOINT, "signature not checked: there is no usable log key")
        return note, None
    try:
        tree = _signed_checkpoint(note, key)
    except CheckpointError as e:
        findings.add(CHECKPOINT, f"signature is not valid for log key {key.name}: {e}")
        return note, None
    if tree.size != manifest.checkpoint_size or tree.origin != manifest.origin:
        findings.add(CHECKPOINT, f"is for {tree.origin!r} of size {tree.size}, the manifest "
                     f"says {manifest.origin!r} of size {manifest.checkpoint_size}")
    return note, tree


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except (x509.ExtensionNotFound, ValueError):
        return False


def _chain(bundle: Path, name: str, findings: Findings) -> tuple[x509.Certificate, ...] | None:
    try:
        certs = x509.load_pem_x509_certificates(read_small(bundle / name))
        for cert in certs:  # parse now what cryptography parses lazily, inside this try
            _ = (cert.subject.rfc4514_string(), cert.issuer.rfc4514_string(), cert.extensions,
                 cert.public_key(), cert.not_valid_before_utc, cert.not_valid_after_utc)
    except EvidenceError as e:
        findings.add(name, str(e))
        return None
    except (ValueError, UnsupportedAlgorithm) as e:
        findings.add(name, f"not PEM certificates: {e}")
        return None
    if not any(_is_ca(c) for c in certs):
        findings.add(name, "holds no CA certificate")
        return None
    return tuple(certs)


def _cas(chain: Sequence[x509.Certificate] | None) -> tuple[x509.Certificate, ...] | None:
    """Trust anchors from a chain file: its CA certificates (a leaf must chain to them)."""
    return None if chain is None else tuple(c for c in chain if _is_ca(c))


def _anchors(certs: Sequence[x509.Certificate]) -> tuple[str, ...]:
    roots = {c.fingerprint(hashes.SHA256()).hex(): c.subject.rfc4514_string()
             for c in certs if c.issuer == c.subject}
    return tuple(f"{subject} (SHA-256 {fp})" for fp, subject in sorted(roots.items()))


def _gen_time(token_der: bytes) -> datetime:
    try:
        info = cms.ContentInfo.load(token_der, strict=True)
        content = info["content"]["encap_content_info"]["content"].contents
        gen_time: datetime = tsp.TSTInfo.load(content, strict=True)["gen_time"].native
        return gen_time.astimezone(UTC)
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise MalformedSignature("time-stamp token cannot be parsed") from e


def _timestamp(bundle: Path, note: bytes | None, tsa_chain: Sequence[x509.Certificate] | None,
               findings: Findings) -> datetime | None:
    """genTime, if the token stamps SHA-512 of the exact checkpoint bytes and its TSA
    certificate chained to certs/tsa-chain.pem at that time."""
    try:
        token = timestamp_token(read_small(bundle / TIMESTAMP))
    except EvidenceError as e:
        findings.add(TIMESTAMP, str(e))
        return None
    anchors = _cas(tsa_chain)
    if note is None or anchors is None:
        return None
    try:
        gen_time = _gen_time(token)
        return verify_timestamp(token, hashlib.sha512(note).digest(), anchors, gen_time)
    except VerificationError as e:
        findings.add(TIMESTAMP, f"does not time-stamp the checkpoint: {e}")
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:  # from certificate parsing
        findings.add(TIMESTAMP, f"cannot be checked: a certificate is malformed ({e})")
    return None


def _history(bundle: Path, key: LogKey | None, tree: Checkpoint | None, findings: Findings
             ) -> dict[int, bytes]:
    """Roots of the earlier checkpoints proven to be prefixes of the bundle's checkpoint."""
    roots: dict[int, bytes] = {}
    try:
        for number, line in iter_lines(bundle / CONSISTENCY):
            try:
                if line is None:
                    raise EvidenceError(f"longer than {MAX_LINE} bytes")
                entry = parse_history_line(line)
            except EvidenceError as e:
                findings.add(f"{CONSISTENCY} line {number}", str(e))
                continue
            if key is not None and tree is not None:
                root = _earlier(entry, key, tree, findings)
                if root is not None:
                    roots[entry.size] = root
    except EvidenceError as e:
        findings.add(CONSISTENCY, str(e))
    return roots


def _earlier(entry: EarlierCheckpoint, key: LogKey, tree: Checkpoint, findings: Findings
             ) -> bytes | None:
    where = f"earlier checkpoint of size {entry.size}"
    try:
        earlier = _signed_checkpoint(entry.note, key)
    except CheckpointError as e:
        findings.add(where, f"note is not signed by log key {key.name}: {e}")
        return None
    if earlier.size != entry.size or earlier.origin != tree.origin:
        findings.add(where, f"note is for {earlier.origin!r} of size {earlier.size}")
        return None
    try:
        verify_consistency(earlier.size, tree.size, earlier.root, tree.root, entry.proof)
    except ProofError as e:
        findings.add(where, f"forked history: not a prefix of the bundle's checkpoint of size "
                     f"{tree.size} ({e})")
        return None
    return earlier.root


def _known(note: bytes | None, key: LogKey | None, findings: Findings) -> Checkpoint | None:
    if note is None:
        return None
    if key is None:
        findings.add(KNOWN, "not checked: there is no usable log key")
        return None
    try:
        return _signed_checkpoint(note, key)
    except CheckpointError as e:
        findings.add(KNOWN, f"not signed by the bundle's log key {key.name} (another log, or "
                     f"the key was replaced): {e}")
        return None


def _check_known(known: Checkpoint, tree: Checkpoint, roots: Sequence[bytes],
                 findings: Findings) -> int | None:
    """The known checkpoint's size if the bundle's checkpoint extends it unchanged."""
    if known.origin != tree.origin:
        findings.add(KNOWN, f"is for {known.origin!r}, the bundle for {tree.origin!r}")
        return None
    if known.size > tree.size:
        findings.add(KNOWN, f"covers {known.size} records, the bundle's checkpoint only "
                     f"{tree.size}: the log was truncated or rolled back")
        return None
    if known.size == tree.size:
        roots = [tree.root]
    elif known.size == 0:
        roots = [hashlib.sha256(b"").digest()]
    if not roots:
        findings.add(KNOWN, f"of size {known.size} cannot be checked: the bundle holds no "
                     "checkpoint of that size and not every record")
        return None
    if not all(hmac.compare_digest(r, known.root) for r in roots):
        findings.add(KNOWN, f"forked history: the log's tree of size {known.size} has another "
                     "root than the checkpoint saved earlier")
        return None
    return known.size

