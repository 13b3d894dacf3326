"""Evidence bundles from a security server's audit database (the I/O edge of `audit.evidence`).

A bundle holds exactly the records its checkpoint covers: the newest checkpoint that has a
time-stamp. Records are streamed from the database and proofs come from the stored tree, so
an export never holds the log in memory.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519

from audit.checkpointer import key_name
from audit.evidence import (
    ArchiveRange,
    BundleManifest,
    EarlierCheckpoint,
    EvidenceError,
    ExportMetadata,
    LogKey,
    write_bundle,
)
from audit.query import RecordQuery, matching_records
from audit.store import SqlAuditStore

LOG_PUBLIC_KEY_FILE = "audit-log.pub"
CA_CHAIN_FILE = "ca-chain.pem"


@dataclass(frozen=True)
class ServerLog:
    """Where one security server keeps its audit evidence."""

    server_id: str
    directory: Path
    database_url: str

    def log_key(self) -> LogKey:
        path = self.directory / LOG_PUBLIC_KEY_FILE
        try:
            raw = base64.b64decode(path.read_text(encoding="ascii").strip(), validate=True)
            public = ed25519.Ed25519PublicKey.from_public_bytes(raw)
        except (OSError, ValueError) as e:
            raise EvidenceError(f"the log's public key {path} cannot be read: {e}") from e
        return LogKey(key_name(self.server_id), public)

    def ca_chain(self) -> list[x509.Certificate]:
        path = self.directory / CA_CHAIN_FILE
        try:
            return x509.load_pem_x509_certificates(path.read_bytes())
        except (OSError, ValueError) as e:
            raise EvidenceError(f"the approved CA certificates {path} cannot be read: {e}") from e


def token_certificates(token_der: bytes) -> list[x509.Certificate]:
    """The certificates a TSA put in its time-stamp token (its own, usually)."""
    signed = cms.ContentInfo.load(token_der)["content"]
    return [x509.load_der_x509_certificate(c.chosen.dump())
            for c in (signed["certificates"] or []) if c.name == "certificate"]


def export_bundle(store: SqlAuditStore, out: Path, log: ServerLog, *, now: datetime,
                  query: RecordQuery | None = None,
                  filters: Mapping[str, str] | None = None,
                  archive: ArchiveRange | None = None,
                  progress: Callable[[], None] = lambda: None) -> BundleManifest:
    """Write the records matching `query` (all when `filters` is empty) up to the newest
    time-stamped checkpoint into a new bundle directory `out`."""
    sealed = store.latest_sealed()
    if sealed is None:
        raise EvidenceError("the log has no time-stamped checkpoint yet (seal one first: "
                            "POST /api/v1/audit/seal on the security server's admin API)")
    size, note, token = sealed
    filters = dict(filters or {})
    if archive is not None:
        records = store.records(archive.start, archive.end)
    else:
        records = matching_records(store, query or RecordQuery(), size)
        archived = store.archived_below()
        if archived:  # not the whole log any more: say where the rest is
            filters["archived_below"] = str(archived)
    ca_chain = log.ca_chain()
    history = [EarlierCheckpoint(c.size, c.note, tuple(store.consistency_proof(c.size, size)))
               for c in store.checkpoints(up_to=size) if c.size > 0]
    def counted() -> Iterator[tuple[int, bytes, bytes | None]]:
        for r in records:
            progress()
            yield r.index, r.leaf, r.signature

    return write_bundle(
        out, records=counted(),
        checkpoint_note=note, timestamp_token_der=token,
        inclusion_proof=lambda index: store.inclusion_proof(index, size), history=history,
        log_key=log.log_key(), tsa_chain=_unique([*token_certificates(token), *ca_chain]),
        ca_chain=ca_chain,
        metadata=ExportMetadata(server=log.server_id, exported_at=now,
                                filters=filters, archive=archive))


def _unique(certs: Sequence[x509.Certificate]) -> list[x509.Certificate]:
    seen: dict[bytes, x509.Certificate] = {}
    for cert in certs:
        seen.setdefault(cert.fingerprint(hashes.SHA256()), cert)
    return list(seen.values())
