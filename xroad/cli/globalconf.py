"""`xroad globalconf show|verify`: what the central server publishes, and whether a copy of it
is genuine (signed by a key of the configuration anchor) and still valid."""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Annotated

import httpx
import typer

from xroad.cli.central_client import CentralUrl, DataDir, central_url, fail
from xroad.clock import SystemClock
from xroad.errors import XRoadError
from xroad.globalconf import codec
from xroad.globalconf.anchor import ConfigurationAnchor
from xroad.globalconf.model import GlobalConf

app = typer.Typer(no_args_is_help=True, help="The signed global configuration.")

AnchorFile = Annotated[Path | None, typer.Option(
    "--anchor", help="Configuration anchor (default: <data-dir>/central/anchor.json).")]


def _anchor(data_dir: Path, path: Path | None) -> ConfigurationAnchor | None:
    path = path or data_dir / "central" / "anchor.json"
    if not path.is_file():
        return None
    try:
        return ConfigurationAnchor.decode(path.read_bytes())
    except (OSError, XRoadError) as e:
        fail(f"{path}: {e}")


def _download(url: str) -> bytes:
    try:
        reply = httpx.get(url, timeout=30.0)
    except httpx.HTTPError as e:
        fail(f"cannot download {url}: {type(e).__name__}")
    if reply.status_code != 200:
        fail(f"{url}: HTTP {reply.status_code}")
    return reply.content


def _unverified(signed: bytes) -> GlobalConf:
    """The content of a signed document without checking the signature (for display only)."""
    try:
        return codec.decode(base64.b64decode(json.loads(signed)["content"], validate=True))
    except (ValueError, KeyError, TypeError, binascii.Error, XRoadError) as e:
        fail(f"not a signed global configuration: {e}")


def _summary(conf: GlobalConf) -> list[str]:
    clients = sum(len(s.clients) for s in conf.security_servers)
    subsystems = sum(len(m.subsystems) for m in conf.members)
    return [f"instance:         {conf.instance}", f"version:          {conf.version}",
            f"generated:        {conf.generated_at.isoformat()}",
            f"expires:          {conf.expires_at.isoformat()}",
            f"member classes:   {', '.join(conf.member_classes)}",
            f"members:          {len(conf.members)} ({subsystems} subsystems)",
            f"security servers: {len(conf.security_servers)} ({clients} clients)",
            f"global groups:    {len(conf.global_groups)}",
            f"approved CAs:     {len(conf.approved_cas)}; TSAs: {len(conf.tsa_urls)}",
            "federated with:   "
            + (", ".join(a.instance for a in conf.federated_anchors) or "none")]


@app.command()
def show(
    file: Annotated[Path | None, typer.Option(
        "--file", help="A downloaded signed configuration instead of the central server's.")
    ] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Also save the signed configuration (for `verify`).")] = None,
    anchor: AnchorFile = None, data_dir: DataDir = Path("var"), central_url_: CentralUrl = None,
) -> None:
    """Version, validity and contents in numbers (downloaded from the central server)."""
    signed = file.read_bytes() if file else _download(
        central_url(data_dir, central_url_) + "/globalconf")
    if out is not None:
        out.write_bytes(signed)
    trusted = _anchor(data_dir, anchor)
    if trusted is None:
        lines = [*_summary(_unverified(signed)),
                 "signature:        NOT verified (no anchor; see `xroad globalconf verify`)"]
    else:
        try:
            verified = codec.verify_signed(signed, trusted.instance,
                                           list(trusted.verification_certs))
        except XRoadError as e:
            fail(f"global configuration refused: {e}")
        lines = [*_summary(verified.conf), "signature:        verified against the anchor "
                 f"(key {codec.cert_sha256(verified.signer)[:16]}...)"]
    typer.echo("\n".join(lines))


@app.command()
def verify(
    file: Annotated[Path, typer.Argument(help="The signed configuration (e.g. from show --out).")],
    anchor: Annotated[Path, typer.Option("--anchor", help="The configuration anchor.")],
) -> None:
    """Exit 0 if `file` is signed by a key of the anchor, for its instance, and not expired."""
    trusted = _anchor(Path(), anchor)
    if trusted is None:
        fail(f"no anchor at {anchor}")
    try:
        verified = codec.verify_signed(file.read_bytes(), trusted.instance,
                                       list(trusted.verification_certs))
        verified.conf.ensure_fresh(SystemClock().now())
    except OSError as e:
        fail(f"{file}: {e.strerror or e}")
    except XRoadError as e:
        fail(f"{file}: {e}")
    conf = verified.conf
    typer.echo(f"{file}: verified: instance {conf.instance}, version {conf.version}, valid "
               f"until {conf.expires_at.isoformat()}, signed by "
               f"{verified.signer.subject.rfc4514_string()}")
