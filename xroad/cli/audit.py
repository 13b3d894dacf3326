"""`xroad audit`: evidence from the audit log, and its offline verification.

Exit codes, for every command here: 0 done (for `verify`: the bundle is intact), 1 the
evidence has problems (each printed), 2 the input cannot be used at all (no bundle, unreadable
file); never a traceback.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Final

import typer

from audit.evidence import (
    RECORDS,
    EvidenceError,
    decode_leaf,
    decode_vkey,
    iter_lines,
    parse_record_line,
    read_small,
)
from audit.reconcile import reconcile as compare_logs
from audit.verifier import Report, verify_bundle
from xroad.errors import XRoadError

# The database layer (audit.store, audit.export, audit.archive) is imported by the commands
# that use it: `verify` and `reconcile` work offline and start faster without it.

app = typer.Typer(no_args_is_help=True, help="Audit log evidence: export and verify bundles.")

EXIT_PROBLEMS: Final = 1
EXIT_UNUSABLE: Final = 2

BundleArg = Annotated[Path, typer.Argument(help="The evidence bundle directory.",
                                           show_default=False)]
PinnedKey = Annotated[Path | None, typer.Option(
    "--log-key", help="The log key you trust (a vkey line, or the server's audit-log.pub): "
                      "the checkpoint must be signed by it.")]
KnownCheckpoint = Annotated[Path | None, typer.Option(
    "--checkpoint", help="A checkpoint note saved earlier: the bundle's log must extend it.")]


def _unusable(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_UNUSABLE)


def _problem(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_PROBLEMS)


def _absent(count: int) -> str:
    if count == 0:
        return ""
    return (", 1 record without its signature part" if count == 1
            else f", {count} records without their signature parts")


def _summary(report: Report) -> list[str]:
    extent = "every record of the log" if report.complete else "a selection of records"
    lines = [
        f"Evidence bundle {report.bundle}: intact",
        f"  server              {report.server}",
        f"  log                 {report.origin}",
        f"  log key             {report.log_key}",
        f"  checkpoint          {report.checkpoint_size} records, root {report.root_hex}",
        f"  time-stamp          {report.timestamp.isoformat() if report.timestamp else '-'}",
        f"  records             {report.records} ({extent}), each in the checkpoint",
        f"  signatures          {report.signatures_checked} checked"
        + _absent(report.signatures_absent),
        f"  earlier checkpoints {report.earlier_checkpoints} consistent",
    ]
    if report.known_checkpoint is not None:
        lines.append(f"  known checkpoint    size {report.known_checkpoint}: consistent")
    lines.append("Trust rests on the log key above and these roots; compare them with the "
                 "ones you trust:")
    lines.extend(f"  {anchor}" for anchor in report.trust_anchors)
    return lines


def _problems(report: Report) -> list[str]:
    total = len(report.problems) + report.problems_not_listed
    lines = [f"Evidence bundle {report.bundle}: {total} problem{'s' * (total != 1)}"]
    lines.extend(str(p) for p in report.problems)
    if report.problems_not_listed:
        lines.append(f"... and {report.problems_not_listed} more")
    return lines


def _pinned_key(path: Path) -> bytes:
    """The raw Ed25519 key in a vkey line or in a server's `audit-log.pub` (base64)."""
    try:
        text = read_small(path, 4096).decode("ascii").strip()
        if len(text) == 44:  # base64 of 32 bytes, as in audit-log.pub
            return base64.b64decode(text, validate=True)
        return decode_vkey(text).public_key.public_bytes_raw()
    except (EvidenceError, UnicodeDecodeError, ValueError) as e:
        raise _unusable(f"{path}: not a log key: {e}") from e


def _pin_problem(report: Report, pinned: bytes) -> str | None:
    if report.log_key is None:
        return None  # the checkpoint did not verify: already a problem
    if decode_vkey(report.log_key).public_key.public_bytes_raw() != pinned:
        return (f"the bundle's log key {report.log_key} is not the trusted one: "
                "signed by someone else's key")
    return None


@app.command()
def verify(bundle: BundleArg, checkpoint: KnownCheckpoint = None,
           log_key: PinnedKey = None) -> None:
    """Verify an evidence bundle offline: records, proofs, checkpoint, time-stamp, signatures."""
    pinned = None if log_key is None else _pinned_key(log_key)
    known = None
    if checkpoint is not None:
        try:
            known = read_small(checkpoint, 16 * 1024)
        except EvidenceError as e:
            raise _unusable(f"{checkpoint}: {e}") from e
    try:
        report = verify_bundle(bundle, known_checkpoint=known)
    except (EvidenceError, OSError) as e:
        raise _unusable(f"{bundle} is not a readable evidence bundle: {e}") from e
    mismatch = None if pinned is None else _pin_problem(report, pinned)
    typer.echo("\n".join(_summary(report) if report.ok and mismatch is None
                         else _problems(report) if not report.ok else [f"{bundle}: {mismatch}"]))
    if not report.ok or mismatch is not None:
        raise typer.Exit(EXIT_PROBLEMS)


# --- export -----------------------------------------------------------------------------------

DataDir = Annotated[Path, typer.Option(help="Data directory holding the security servers.")]
Server = Annotated[str | None, typer.Option(
    help="Security server id, e.g. MN/GOV/GASR/ss1 (needed when the data directory holds "
         "several).")]
Since = Annotated[datetime | None, typer.Option(
    "--from", formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"],
    help="Only records at or after this time (e.g. 2026-11-25T08:00:00+08:00; a date is UTC).")]
Until = Annotated[datetime | None, typer.Option(
    "--to", formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"], help="Only records before this time.")]
ClientFilter = Annotated[str | None, typer.Option(
    "--client", help="Only this client subsystem (or member: all its subsystems).")]
ServiceFilter = Annotated[str | None, typer.Option(
    "--service", help="Only this service (or provider: all its services).")]
Out = Annotated[Path, typer.Option("--out", help="The bundle directory to create.")]
NoSeal = Annotated[bool, typer.Option(
    "--no-seal", help="Do not ask the running server for a fresh time-stamped checkpoint; "
                      "export up to the newest one already sealed.")]
SealTimeout = Annotated[float, typer.Option(
    help="How long to wait for the server and its time-stamping authority (seconds).")]


def _utc(at: datetime | None) -> datetime | None:
    return None if at is None else at if at.tzinfo else at.replace(tzinfo=UTC)


@app.command()
def export(out: Out, data_dir: DataDir = Path("var"), server: Server = None,
           since: Since = None, until: Until = None, client: ClientFilter = None,
           service: ServiceFilter = None, no_seal: NoSeal = False,
           seal_timeout: SealTimeout = 30.0) -> None:
    """Write an evidence bundle: records, checkpoint, time-stamp, proofs and certificates.

    First asks the running security server to seal a checkpoint over every record written so
    far and have it time-stamped, so the bundle is complete when this returns."""
    from audit.export import export_bundle  # noqa: PLC0415 - see the note on imports
    from audit.query import RecordQuery  # noqa: PLC0415
    from audit.store import SqlAuditStore  # noqa: PLC0415
    from xroad.cli.audit_source import (  # noqa: PLC0415
        Progress,
        SealFailed,
        ServerNotFound,
        locate_server,
        seal,
    )

    try:
        location = locate_server(data_dir, server)
    except ServerNotFound as e:
        raise _unusable(str(e)) from e
    if not no_seal:
        try:
            seal(location, seal_timeout)
        except SealFailed as e:
            raise _problem(f"{e}\n(use --no-seal to export up to the newest checkpoint "
                           "already time-stamped)") from e
    since, until = _utc(since), _utc(until)
    query = RecordQuery(since=since, until=until, client=client, service=service)
    filters = {name: value for name, value in (
        ("from", since.isoformat() if since else None),
        ("to", until.isoformat() if until else None),
        ("client", client), ("service", service)) if value}
    try:
        store = SqlAuditStore(location.log.database_url)
    except XRoadError as e:
        raise _unusable(str(e)) from e
    try:
        with Progress("records") as progress:
            manifest = export_bundle(store, out, location.log, now=datetime.now(UTC),
                                     query=query, filters=filters, progress=progress.tick)
    except EvidenceError as e:
        raise _problem(str(e)) from e
    finally:
        store.close()
    typer.echo(f"Wrote {out}: {manifest.record_count} records of {manifest.checkpoint_size} "
               f"in the checkpoint ({'complete' if manifest.complete else 'filtered'}).\n"
               f"Check it anywhere with: xroad audit verify {out}")


# --- reconcile --------------------------------------------------------------------------------

FirstBundle = Annotated[Path, typer.Argument(help="One side's bundle (e.g. the consumer's).",
                                             show_default=False)]
SecondBundle = Annotated[Path, typer.Argument(help="The other side's bundle.",
                                              show_default=False)]


def _verified_records(bundle: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        report = verify_bundle(bundle)
    except (EvidenceError, OSError) as e:
        raise _unusable(f"{bundle} is not a readable evidence bundle: {e}") from e
    if not report.ok:
        typer.echo("\n".join(_problems(report)), err=True)
        raise _unusable(f"{bundle} does not verify; reconcile only intact bundles")
    records = (parse_record_line(line) for _, line in iter_lines(bundle / RECORDS)
               if line is not None)
    return [(r.index, decode_leaf(r.leaf)) for r in records]


@app.command()
def reconcile(first: FirstBundle, second: SecondBundle) -> None:
    """Compare two security servers' records of their common exchanges (by request id and
    digests): records present on one side only, or differing. Both bundles are verified first."""
    a, b = _verified_records(first), _verified_records(second)
    found = compare_logs(a, b)
    for discrepancy in found:
        typer.echo(str(discrepancy))
    typer.echo(f"{len(a)} and {len(b)} records compared: "
               + (f"{len(found)} discrepancies" if found else "the logs agree"))
    if found:
        raise typer.Exit(EXIT_PROBLEMS)


# --- archiving --------------------------------------------------------------------------------

OlderThan = Annotated[int, typer.Option(
    "--older-than-days", min=0, help="Archive records written more than this many days ago.")]
ArchiveDir = Annotated[Path | None, typer.Option(
    "--archive-dir", help="Where archive bundles go (default: <data dir>/archive).")]
ArchiveBundles = Annotated[list[Path], typer.Argument(
    help="Archive bundles, oldest first (e.g. var/archive/*-archive-*).", show_default=False)]


@app.command()
def archive(older_than_days: OlderThan, data_dir: DataDir = Path("var"), server: Server = None,
            archive_dir: ArchiveDir = None) -> None:
    """Move records past the retention period into the next archive bundle (verified before
    anything is removed, chained to the previous archive by its digest)."""
    from audit.archive import archive_older_than  # noqa: PLC0415 - see the note on imports
    from audit.store import SqlAuditStore  # noqa: PLC0415
    from xroad.cli.audit_source import ServerNotFound, locate_server  # noqa: PLC0415

    try:
        location = locate_server(data_dir, server)
        store = SqlAuditStore(location.log.database_url)
    except (ServerNotFound, XRoadError) as e:
        raise _unusable(str(e)) from e
    now = datetime.now(UTC)
    try:
        entry = archive_older_than(store, location.log, archive_dir or data_dir / "archive",
                                   now - timedelta(days=older_than_days), now)
    except (EvidenceError, XRoadError) as e:
        raise _problem(str(e)) from e
    finally:
        store.close()
    if entry is None:
        typer.echo("Nothing to archive: no time-stamped records older than "
                   f"{older_than_days} days remain in the live log.")
        return
    typer.echo(f"Archived records {entry.start}..{entry.end - 1} to {entry.location}\n"
               f"  digest {entry.digest} (chained to "
               f"{entry.previous_digest or 'nothing: the first archive'})")


@app.command("verify-archives")
def verify_archives(bundles: ArchiveBundles) -> None:
    """Verify a series of archive bundles offline, and that they chain without a gap."""
    from audit.archive import verify_archive_chain  # noqa: PLC0415 - see the note on imports

    problems = verify_archive_chain(sorted(bundles))
    for problem in problems:
        typer.echo(problem)
    if problems:
        raise typer.Exit(EXIT_PROBLEMS)
    typer.echo(f"{len(bundles)} archive bundles verify and chain from record 0.")
