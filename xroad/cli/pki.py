"""`xroad pki`: issuing certificates from CSRs with the dev PKI, listing and revoking them
(test environments)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from cryptography import x509
from cryptography.x509.oid import NameOID

from keys.certs import pem
from keys.devpki import DevCa, load_dev_ca
from keys.token import TokenLocked
from xroad.errors import XRoadError
from xroad.identifiers import ClientId, SecurityServerId

app = typer.Typer(no_args_is_help=True,
                  help="The dev PKI (TEST ONLY): issue, list and revoke certificates.")

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


CsrFiles = Annotated[list[Path], typer.Argument(
    help="Certificate signing requests (PEM), e.g. from `xroad keys csr`.", show_default=False)]
OcspUrl = Annotated[str | None, typer.Option(
    help="The OCSP responder named in issued certificates (default: trust_services.ocsp_url "
         "in <data-dir>/instance.json).")]


def _ocsp_url(data_dir: Path, given: str | None) -> str | None:
    if given is not None:
        return given
    try:
        return str(json.loads((data_dir / "instance.json").read_text(encoding="utf-8"))
                   ["trust_services"]["ocsp_url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _issue(ca: DevCa, csr: x509.CertificateSigningRequest, at: datetime) -> x509.Certificate:
    """A signing certificate for a member (serialNumber names it) or an authentication
    certificate for a security server (CN names it), as `xroad keys csr` writes them."""
    if not csr.is_signature_valid:
        raise ValueError("the request's signature does not verify")
    member = csr.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    if member:
        return ca.issue_signing_cert(ClientId.parse(str(member[0].value)), csr.public_key(), at)
    names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names:
        raise ValueError("the request names neither a member (serialNumber) nor a security "
                         "server (CN)")
    return ca.issue_auth_cert(SecurityServerId.parse(str(names[0].value)), csr.public_key(), at)


@app.command()
def issue(csrs: CsrFiles, data_dir: DataDir = Path("var"), ocsp_url: OcspUrl = None) -> None:
    """Issue certificates from CSRs (TEST ONLY): each is written beside its CSR as .pem, with
    the CA chain, ready for `xroad keys import-cert`. Look at the subjects before issuing."""
    try:
        ca = load_dev_ca(data_dir / "pki", _pin(), ocsp_url=_ocsp_url(data_dir, ocsp_url))
    except TokenLocked as e:
        raise _fail(str(e)) from e
    for path in csrs:
        try:
            csr = x509.load_pem_x509_csr(path.read_bytes())
            cert = _issue(ca, csr, datetime.now(UTC))
        except (OSError, ValueError, XRoadError) as e:
            raise _fail(f"{path}: {e}") from e
        out = path.with_suffix(".pem")
        out.write_bytes(pem([cert, *ca.chain]))
        typer.echo(f"issued {cert.subject.rfc4514_string()} (serial {cert.serial_number:x}) "
                   f"-> {out}")
