"""Finding a security server's audit log in a data directory, and asking it to seal one.

Per-server commands take `--server ID` when the data directory holds several (the demo);
without it they act on the only one there, or stop listing the ids. The checkpoint is sealed
by the running server (it holds the log key and reaches the TSA); this side needs only the
auditor's API key (`<server dir>/auditor-api-key` in the demo, or `XROAD_AUDIT_API_KEY`).
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final

import httpx

from audit.export import ServerLog

API_KEY_VARIABLE: Final = "XROAD_AUDIT_API_KEY"
API_KEY_FILE: Final = "auditor-api-key"
# As the security server reads them: the audit URL, else the server's, else the common one.
DATABASE_VARIABLES: Final = ("XROAD_SS_AUDIT_DATABASE_URL", "XROAD_SS_DATABASE_URL",
                              "XROAD_DATABASE_URL")


class ServerNotFound(Exception):
    """No (single) security server matches in the data directory."""


class SealFailed(Exception):
    """The running server could not seal a time-stamped checkpoint in time."""


@dataclass(frozen=True)
class ServerLocation:
    log: ServerLog
    admin_url: str | None
    api_key: str | None


def _admin_url(data_dir: Path, server_id: str) -> str | None:
    try:
        doc = json.loads((data_dir / "instance.json").read_text(encoding="utf-8"))
        servers = doc["security_servers"]
        return next((str(s["admin_url"]) for s in servers if s.get("id") == server_id), None)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def locate_server(data_dir: Path, server: str | None) -> ServerLocation:
    found = {p.parent.name.replace("_", "/"): p.parent
             for p in sorted((data_dir / "ss").glob("*/serverconf.toml"))}
    if server is not None and server not in found:
        raise ServerNotFound(f"no security server {server} in {data_dir}; there are: "
                             f"{', '.join(found) or 'none'}")
    if server is None and len(found) != 1:
        raise ServerNotFound(f"{data_dir} holds {len(found) or 'no'} security servers; choose "
                             f"one with --server: {', '.join(found)}")
    server_id = server if server is not None else next(iter(found))
    directory = found[server_id]
    url = next((os.environ[v] for v in DATABASE_VARIABLES if os.environ.get(v)),
               f"sqlite:///{directory / 'audit.db'}")
    key = os.environ.get(API_KEY_VARIABLE)
    if key is None and (directory / API_KEY_FILE).exists():
        key = (directory / API_KEY_FILE).read_text(encoding="utf-8").strip()
    return ServerLocation(ServerLog(server_id, directory, url), _admin_url(data_dir, server_id),
                          key)


def seal(location: ServerLocation, timeout_s: float) -> None:
    """Ask the running server to sign and time-stamp a checkpoint of everything so far,
    retrying while it or its TSA is unavailable, up to `timeout_s`."""
    if location.admin_url is None or location.api_key is None:
        raise SealFailed(f"the admin API of {location.log.server_id} is not known (no "
                         f"admin_url in instance.json or no API key in {API_KEY_VARIABLE})")
    deadline = time.monotonic() + timeout_s
    reason = "no answer"
    with httpx.Client(timeout=min(timeout_s, 30.0)) as client:
        while time.monotonic() < deadline:
            try:
                reply = client.post(location.admin_url.rstrip("/") + "/api/v1/audit/seal",
                                    headers={"Authorization":
                                             f"X-Road-ApiKey token={location.api_key}"})
            except httpx.HTTPError as e:
                reason = f"{location.admin_url} does not answer ({type(e).__name__})"
            else:
                if reply.status_code == 200:
                    return
                reason = f"HTTP {reply.status_code}: {reply.text[:300]}"
                if reply.status_code in (401, 403):
                    break
            time.sleep(1.0)
    raise SealFailed(f"{location.log.server_id} could not seal a time-stamped checkpoint: "
                     f"{reason}")


class Progress:
    """Counts on stderr for long exports: a line every `every` items and a final total."""

    def __init__(self, noun: str, every: int = 10_000) -> None:
        self.noun, self.every, self.count = noun, every, 0
        self._started = time.monotonic()

    def tick(self) -> None:
        self.count += 1
        if self.count % self.every == 0:
            print(f"  {self.count:,} {self.noun} ...", file=sys.stderr, flush=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if kind is None and self.count >= self.every:
            print(f"  {self.count:,} {self.noun} in {time.monotonic() - self._started:.1f} s",
                  file=sys.stderr, flush=True)
