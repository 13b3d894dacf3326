"""`GET /api/v1/audit/evidence`: the evidence bundle `xroad audit export --no-seal` writes,
served to an auditor as one `.tar.gz` (read-only, auditor key).

The web console runs elsewhere than the security server's data directory, so without this an
auditor could only take evidence away with a shell on the server. The bundle is the very one
the CLI writes (`audit.export.export_bundle`), up to the newest time-stamped checkpoint; to
cover the latest records, `POST /api/v1/audit/seal` first, as the CLI does. Filters are the
CLI's (`since`, `until`, `client`, `service`); the bundle's manifest names them.
"""

from __future__ import annotations

import asyncio
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import structlog
from aiohttp import web

from audit.evidence import EvidenceError
from audit.export import ServerLog, export_bundle
from audit.query import RecordQuery
from audit.store import SqlAuditStore
from xroad.clock import Clock

log = structlog.get_logger(__name__)

_CHUNK: Final = 256 * 1024


def _filters(query: RecordQuery) -> dict[str, str]:
    """The manifest's filter names, as `xroad audit export` writes them."""
    return {name: value for name, value in (
        ("from", query.since.isoformat() if query.since else None),
        ("to", query.until.isoformat() if query.until else None),
        ("client", query.client), ("service", query.service)) if value}


def write_archive(store: SqlAuditStore, server: ServerLog, query: RecordQuery, clock: Clock,
                  work: Path) -> tuple[Path, int]:
    """Export into `work` and pack it; the archive's path and the checkpoint size."""
    bundle = work / "evidence"
    manifest = export_bundle(store, bundle, server, now=clock.now(), query=query,
                             filters=_filters(query))
    packed = work / "evidence.tar.gz"
    with tarfile.open(packed, "w:gz") as tar:
        tar.add(bundle, arcname=f"evidence-{manifest.checkpoint_size}")
    return packed, manifest.checkpoint_size


def evidence_handler(store: SqlAuditStore, server: ServerLog, clock: Clock,
                     parse: Callable[[Any], RecordQuery]
                     ) -> Callable[[web.Request, Any], Any]:
    """The route; `parse` is the auditor API's own query parsing (same errors, same limits)."""
    async def evidence(request: web.Request, caller: Any) -> web.StreamResponse:
        try:
            full = parse(request.query)
        except ValueError as e:
            return web.json_response({"type": "BadRequest", "message": str(e)}, status=400)
        query = RecordQuery(since=full.since, until=full.until, client=full.client,
                            service=full.service)
        work = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="xroad-evidence-"))
        try:
            try:
                packed, size = await asyncio.to_thread(write_archive, store, server, query,
                                                       clock, work)
            except EvidenceError as e:
                return web.json_response({"type": "NoEvidence", "message": str(e)}, status=409)
            log.info("audit.evidence_exported", key_id=getattr(caller, "key_id", None),
                     checkpoint_size=size, filters=sorted(_filters(query)))
            name = f"evidence-{server.server_id.replace('/', '_')}-{size}.tar.gz"
            response = web.StreamResponse(headers={
                "Content-Type": "application/gzip",
                "Content-Disposition": f'attachment; filename="{name}"'})
            await response.prepare(request)
            with packed.open("rb") as f:
                while chunk := await asyncio.to_thread(f.read, _CHUNK):
                    await response.write(chunk)
            await response.write_eof()
            return response
        finally:
            await asyncio.to_thread(shutil.rmtree, work, ignore_errors=True)
    return evidence
