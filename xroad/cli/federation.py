"""`xroad federation add|list|remove`: the other instances this central server's instance
trusts (their configuration anchors), through the admin API (ADR 0008)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer

from xroad.cli.central_client import CentralClient, CentralUrl, DataDir, KeyFile, fail

app = typer.Typer(no_args_is_help=True,
                  help="Federation: trusted anchors of other X-Road instances.")


def _describe(anchor: dict[str, Any]) -> str:
    keys = ", ".join(k[:16] + "..." for k in anchor["verification_cert_sha256"])
    return (f"{anchor['instance']:<8} {anchor['download_url']}  anchor sha256 "
            f"{anchor['anchor_sha256'][:16]}...  keys {keys}  added {anchor['added_at']} by "
            f"{anchor['added_by']}")


@app.command("add")
def add(
    anchor_file: Annotated[Path, typer.Argument(
        help="The other instance's configuration anchor (its central server's anchor.json).")],
    data_dir: DataDir = Path("var"), central_url: CentralUrl = None, key_file: KeyFile = None,
) -> None:
    """Trust another instance (replaces an earlier anchor of it). Its clients can call this
    instance's services only where a provider grants them an access right."""
    try:
        text = anchor_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        fail(f"{anchor_file}: {e}")
    added = CentralClient.of(data_dir, central_url, key_file).call(
        "POST", "/api/v1/trusted-anchors", body={"anchor": text})
    typer.echo(f"trusted instance {added['instance']} "
               f"(anchor sha256 {added['anchor_sha256']}); security servers follow it after "
               "their next global configuration refresh")


@app.command("list")
def list_anchors(
    data_dir: DataDir = Path("var"), central_url: CentralUrl = None, key_file: KeyFile = None,
) -> None:
    """The trusted anchors (any role's key)."""
    anchors = CentralClient.of(data_dir, central_url, key_file).call(
        "GET", "/api/v1/trusted-anchors")
    typer.echo("\n".join(_describe(a) for a in anchors) if anchors else "no trusted anchors")


@app.command("remove")
def remove(
    instance: Annotated[str, typer.Argument(help="The instance code, e.g. LA.")],
    data_dir: DataDir = Path("var"), central_url: CentralUrl = None, key_file: KeyFile = None,
) -> None:
    """Stop trusting an instance (security servers drop it at their next refresh)."""
    removed = CentralClient.of(data_dir, central_url, key_file).call(
        "DELETE", f"/api/v1/trusted-anchors/{quote(instance, safe='')}")
    typer.echo(f"removed the trusted anchor of instance {removed['instance']}")
