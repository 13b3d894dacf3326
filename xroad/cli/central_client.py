"""Talking to the central server's admin API from the command line.

Where: `--central-url`, else XROAD_CENTRAL_URL, else `central_server.url` of
`<data-dir>/instance.json`. Who: `--key-file`, else XROAD_CENTRAL_API_KEY, else
`<data-dir>/central/admin-api-key`. Every failure is one line on stderr and exit status 1.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer

from xroad.central.roles import KEY_FILE_NAMES, Role

URL_VARIABLE = "XROAD_CENTRAL_URL"
KEY_VARIABLE = "XROAD_CENTRAL_API_KEY"
TIMEOUT_S = 30.0

DataDir = Annotated[Path, typer.Option(
    help="Data directory (instance.json; central/admin-api-key).")]
CentralUrl = Annotated[str | None, typer.Option(
    "--central-url", help=f"Central server base URL (default: ${URL_VARIABLE} or "
                          "instance.json).")]
KeyFile = Annotated[Path | None, typer.Option(
    "--key-file", help=f"File holding the admin API key (default: ${KEY_VARIABLE} or "
                       "<data-dir>/central/admin-api-key); e.g. central/officer-api-key.")]


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def instance_doc(data_dir: Path) -> dict[str, Any] | None:
    path = data_dir / "instance.json"
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        fail(f"{path}: {e}")
    return doc if isinstance(doc, dict) else None


def central_url(data_dir: Path, url: str | None) -> str:
    found = url or os.environ.get(URL_VARIABLE)
    if not found:
        doc = instance_doc(data_dir) or {}
        central = doc.get("central_server")
        found = central.get("url") if isinstance(central, dict) else None
    if not isinstance(found, str) or not found.startswith(("http://", "https://")):
        fail(f"no central server URL: give --central-url, set {URL_VARIABLE}, or point "
             f"--data-dir at a directory with instance.json (not {data_dir})")
    return found.rstrip("/")


def api_key(data_dir: Path, key_file: Path | None) -> str:
    if key_file is None and (key := os.environ.get(KEY_VARIABLE)):
        return key.strip()
    path = key_file or data_dir / "central" / KEY_FILE_NAMES[Role.ADMINISTRATOR]
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as e:
        fail(f"no admin API key: {path}: {e.strerror or e}; give --key-file or set "
             f"{KEY_VARIABLE}")


@dataclass(frozen=True)
class CentralClient:
    base_url: str
    key: str | None = None

    @classmethod
    def of(cls, data_dir: Path, url: str | None, key_file: Path | None, *,
           authenticated: bool = True) -> CentralClient:
        base = central_url(data_dir, url)
        return cls(base, api_key(data_dir, key_file) if authenticated else None)

    def call(self, method: str, path: str, *, body: Any = None,
             params: dict[str, str] | None = None, accept: tuple[int, ...] = ()) -> Any:
        """The JSON answer; an error answer (`{type, message}`) becomes one line and exit 1,
        unless its status is in `accept` (then it is returned)."""
        headers = {} if self.key is None else {"Authorization": f"X-Road-ApiKey token={self.key}"}
        try:
            reply = httpx.request(method, self.base_url + path, json=body, params=params,
                                  headers=headers, timeout=TIMEOUT_S)
        except httpx.HTTPError as e:
            fail(f"cannot reach the central server at {self.base_url}: {type(e).__name__}")
        try:
            doc = reply.json()
        except ValueError:
            doc = None
        if reply.status_code >= 400 and reply.status_code not in accept:
            if isinstance(doc, dict) and "message" in doc:
                fail(f"{doc.get('type', 'Error')}: {doc['message']}")
            fail(f"{method} {path}: HTTP {reply.status_code}")
        return doc
