"""`xroad pki`: the dev PKI's issued certificates, and revoking them (test environments)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from cryptography import x509

from keys.devpki import load_dev_ca
from keys.token import TokenLocked

app = typer.Typer(no_args_is_help=True,
                  help="The dev PKI (TEST ONLY): list and revoke issued certificates.")

DataDir = Annotated[Path, typer.Option(help="Data directory; the dev PKI is in <data-dir>/pki.")]
PIN_ENV = "XROAD_PKI_TOKEN_PIN"
REASONS = sorted(r.name for r in x509.ReasonFlags
                 if r not in (x509.ReasonFlags.unspecified, x509.ReasonFlags.remove_from_crl))


def _pin() -> str:
    return os.environ.get(PIN_ENV) or str(typer.prompt("dev CA PIN", hide_input=True))


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


@app.command("list")
def list_issued(data_dir: DataDir = Path("var")) -> None:
    """Every certificate the dev CA issued, with its status (what the OCSP responder says)."""
    try:
        ca = load_dev_ca(data_dir / "pki", _pin())
    except TokenLocked as e:
        raise _fail(str(e)) from e
    for cert in ca.index.all():
        revoked = ""
        if cert.revoked_at is not None:
            why = cert.reason.name if cert.reason else "unspecified"
            revoked = f"  revoked {cert.revoked_at.isoformat()} ({why})"
        typer.echo(f"{cert.serial:x}  {cert.status:<7}  until {cert.not_after.date()}  "
                   f"{cert.subject}{revoked}")


@app.command()
def revoke(serial: Annotated[str, typer.Argument(help="Serial number in hex, as `list` shows.")],
           reason: Annotated[str, typer.Option(help=f"One of: {', '.join(REASONS)}.")
                             ] = "key_compromise",
           data_dir: DataDir = Path("var")) -> None:
    """Revoke a certificate; the OCSP responder reports it from its next answer on."""
    if reason not in REASONS:
        raise _fail(f"unknown reason {reason!r}; one of: {', '.join(REASONS)}")
    try:
        number = int(serial, 16)
    except ValueError as e:
        raise _fail(f"not a hex serial number: {serial!r}") from e
    try:
        ca = load_dev_ca(data_dir / "pki", _pin())
        done = ca.revoke(number, x509.ReasonFlags[reason], datetime.now(UTC))
    except (TokenLocked, LookupError, ValueError) as e:
        raise _fail(str(e) or type(e).__name__) from e
    typer.echo(f"revoked {done.serial:x} {done.subject} ({reason})")
