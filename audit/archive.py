"""Archiving: records past the retention period move from the live database to bundles.

Each archive bundle is an evidence bundle (`audit.evidence`) of one contiguous range of
records, checked before anything is removed, and chained to the previous archive by its
digest: a missing, replaced or reordered archive breaks the chain. The live database keeps
the tree nodes, checkpoints and time-stamps, so it stays small while every proof still works.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import structlog

from audit.bundle_digest import bundle_digest
from audit.evidence import ArchiveRange, EvidenceError, read_manifest
from audit.export import ServerLog, export_bundle
from audit.store import ArchiveEntry, SqlAuditStore
from audit.verifier import verify_bundle

log = structlog.get_logger(__name__)


def archive_name(server_id: str, sequence: int) -> str:
    return f"{server_id.replace('/', '_')}-archive-{sequence:06d}"


def archive_older_than(store: SqlAuditStore, server: ServerLog, directory: Path,
                       cutoff: datetime, now: datetime) -> ArchiveEntry | None:
    """Move records written before `cutoff` (and covered by a time-stamped checkpoint) into
    the next archive bundle in `directory`; None when there is nothing to move."""
    sealed = store.latest_sealed()
    if sealed is None:
        return None
    start = store.archived_below()
    end = store.index_before(cutoff, sealed[0])
    if end <= start:
        return None
    archives = store.archives()
    previous = archives[-1] if archives else None
    sequence = 1 if previous is None else previous.sequence + 1
    out = directory / archive_name(server.server_id, sequence)
    directory.mkdir(parents=True, exist_ok=True)
    export_bundle(store, out, server, now=now, archive=ArchiveRange(
        sequence, start, end, None if previous is None else previous.digest))
    report = verify_bundle(out)
    if not report.ok:
        shutil.rmtree(out, ignore_errors=True)
        raise EvidenceError(f"archive bundle {out.name} does not verify; nothing was removed: "
                            f"{report.problems[0] if report.problems else 'unknown problem'}")
    entry = ArchiveEntry(sequence, start, end, bundle_digest(out),
                         None if previous is None else previous.digest, str(out))
    store.remove_archived(entry, now)
    log.info("audit.archived", sequence=sequence, start=start, end=end, bundle=str(out))
    return entry


def verify_archive_chain(bundles: Sequence[Path]) -> list[str]:
    """Problems with a series of archive bundles (oldest first): each must verify, follow the
    previous one without a gap, and name the previous one's digest."""
    problems: list[str] = []
    previous: tuple[Path, int] | None = None
    for number, bundle in enumerate(bundles, start=1):
        try:
            manifest = read_manifest(bundle)
        except (EvidenceError, OSError) as e:
            problems.append(f"{bundle.name}: not a readable bundle: {e}")
            previous = None
            continue
        report = verify_bundle(bundle)
        problems += [f"{bundle.name}: {p}" for p in report.problems]
        archive = manifest.archive
        if archive is None:
            problems.append(f"{bundle.name}: not an archive bundle")
            continue
        if archive.sequence != number:
            problems.append(f"{bundle.name}: archive {archive.sequence} where {number} belongs")
        expected_start = 0 if previous is None else previous[1]
        expected_digest = None if previous is None else bundle_digest(previous[0])
        if archive.start != expected_start:
            problems.append(f"{bundle.name}: starts at record {archive.start}, the previous "
                            f"archive ended at {expected_start}")
        if archive.previous_digest != expected_digest:
            problems.append(f"{bundle.name}: does not chain to the previous archive (its "
                            "digest differs: replaced, altered or missing)")
        previous = (bundle, archive.end)
    return problems
