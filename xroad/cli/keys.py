"""`xroad keys ...`: generate keys, request and import their certificates, list them.

One command set for both token kinds: a software token (`--token-dir`) or a PKCS#11 device
(`--pkcs11-module` and `--token-label`). The PIN comes from XROAD_TOKEN_PIN or a hidden prompt,
never from a flag, since flags end up in shell history and `ps`. Failures are one line on
stderr and exit status 1: operators read them, and scripts test the status.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from cryptography.hazmat.primitives import serialization

from keys.certs import cert_sha256
from keys.csr import (
    KeyStore,
    SoftwareKeyStore,
    import_certificate,
    load_certificates,
    request_certificate,
)
from keys.profiles import (
    DEFAULT_PROFILE,
    MIN_RSA_BITS,
    KeyEntry,
    KeyPurpose,
    KeyUsage,
    XRoadSubjectProfile,
)
from keys.token import SoftwareToken
from xroad.errors import XRoadError
from xroad.identifiers import ClientId, SecurityServerId

PIN_VARIABLE = "XROAD_TOKEN_PIN"

app = typer.Typer(no_args_is_help=True,
                  help="Keys and certificates on a software token or a PKCS#11 device.")


class Algorithm(StrEnum):
    EC = "ec"
    RSA = "rsa"


class Format(StrEnum):
    PEM = "pem"
    DER = "der"


TokenDir = Annotated[Path | None, typer.Option(
    "--token-dir", help="Software token directory (keys encrypted with the PIN).")]
Module = Annotated[Path | None, typer.Option(
    "--pkcs11-module", help="PKCS#11 library of the HSM or smartcard, e.g. libsofthsm2.so.")]
TokenLabel = Annotated[str | None, typer.Option(
    "--token-label", help="Label of the token in the PKCS#11 module.")]
Label = Annotated[str, typer.Option("--label", help="The key's label in the token.")]
Member = Annotated[str | None, typer.Option(
    "--member", help="Member owning a signing key, e.g. MN/GOV/123.")]
Server = Annotated[str | None, typer.Option(
    "--server", help="Security server owning an auth key, e.g. MN/GOV/123/ss1.")]


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


@contextmanager
def _clean_errors() -> Iterator[None]:
    """Turn what an operator can cause into one line; anything else is a bug and shows as one."""
    try:
        yield
    except XRoadError as e:
        _fail(str(e))
    except OSError as e:
        _fail(f"{e.filename or 'I/O'}: {e.strerror or e}")


def _pin(*, confirm: bool) -> str:
    pin = os.environ.get(PIN_VARIABLE)
    if pin:
        return pin
    entered: str = typer.prompt("Token PIN", hide_input=True, confirmation_prompt=confirm)
    return entered


@contextmanager
def _open(token_dir: Path | None, module: Path | None, token_label: str | None,
          *, creating: bool = False) -> Iterator[KeyStore]:
    if (token_dir is None) == (module is None):
        _fail("give either --token-dir or --pkcs11-module (with --token-label)")
    if module is not None:
        if token_label is None:
            _fail("--pkcs11-module needs --token-label")
        from keys.pkcs11_token import Pkcs11Token  # noqa: PLC0415 - loads the C binding

        with Pkcs11Token.open(module, token_label, _pin(confirm=False)) as device:
            yield device
        return
    assert token_dir is not None  # noqa: S101 - guaranteed by the first check
    if not creating and not token_dir.is_dir():
        _fail(f"no software token at {token_dir}")
    fresh = creating and not any(token_dir.glob("*.key.pem"))
    yield SoftwareKeyStore(SoftwareToken(token_dir), _pin(confirm=fresh))


def _purpose(member: str | None, server: str | None) -> KeyPurpose | None:
    if member is not None and server is not None:
        _fail("give --member (signing key) or --server (authentication key), not both")
    if member is not None:
        return KeyPurpose.signing(ClientId.parse(member))
    if server is not None:
        return KeyPurpose.authentication(SecurityServerId.parse(server))
    return None


def _describe(entry: KeyEntry) -> str:
    owner = f" ({entry.purpose.owner})" if entry.purpose else " (from the certificate)"
    lines = [entry.label,
             f"  kind:       {entry.usage}{owner}" if entry.usage else "  kind:       unknown",
             f"  algorithm:  {entry.algorithm}"]
    cert = entry.certificate
    if cert is None:
        lines.append("  certificate: none yet (make a CSR, then import-cert)")
    else:
        lines += [f"  subject:    {cert.subject.rfc4514_string()}",
                  f"  validity:   {cert.not_valid_before_utc.isoformat()} .. "
                  f"{cert.not_valid_after_utc.isoformat()}",
                  f"  sha256:     {cert_sha256(cert)}"]
    return "\n".join(lines)


@app.command("list")
def list_keys(token_dir: TokenDir = None, pkcs11_module: Module = None,
              token_label: TokenLabel = None) -> None:
    """List keys: label, kind (sign/auth), algorithm, certificate subject, validity, SHA-256."""
    with _clean_errors(), _open(token_dir, pkcs11_module, token_label) as store:
        entries = store.entries()
        typer.echo("\n".join(_describe(e) for e in entries) if entries else "no keys")


@app.command()
def generate(
    kind: Annotated[KeyUsage, typer.Option(
        "--kind", help="sign: a member's signing key; auth: the server's TLS key.")],
    member: Member = None,
    server: Server = None,
    algorithm: Annotated[Algorithm, typer.Option("--algorithm")] = Algorithm.EC,
    rsa_bits: Annotated[int, typer.Option("--rsa-bits", min=MIN_RSA_BITS)] = MIN_RSA_BITS,
    label: Annotated[str | None, typer.Option(
        "--label", help="Defaults to kind, owner and a random suffix.")] = None,
    token_dir: TokenDir = None, pkcs11_module: Module = None, token_label: TokenLabel = None,
) -> None:
    """Generate a key in the token and record what it is for."""
    with _clean_errors():
        purpose = _purpose(member, server)
        if purpose is None or purpose.usage is not kind:
            _fail("--kind sign needs --member; --kind auth needs --server")
        label = label or "-".join((str(kind), re.sub(r"[^A-Za-z0-9._-]", "_", str(purpose.owner)),
                                   secrets.token_hex(3)))
        with _open(token_dir, pkcs11_module, token_label, creating=True) as store:
            entry = store.generate(label, purpose, algorithm.value, rsa_bits)
        typer.echo(f"generated {entry.algorithm} key {entry.label!r} for {purpose.owner}")


@app.command()
def csr(
    label: Label,
    out: Annotated[Path, typer.Option("--out", help="Where to write the request.")],
    output_format: Annotated[Format, typer.Option("--format")] = Format.PEM,
    country: Annotated[str | None, typer.Option(
        "--country", help="C in the subject when the instance code is not a country.")] = None,
    member: Member = None,
    server: Server = None,
    token_dir: TokenDir = None, pkcs11_module: Module = None, token_label: TokenLabel = None,
) -> None:
    """Write a certificate signing request for a key, signed inside the token."""
    with _clean_errors():
        profile = DEFAULT_PROFILE if country is None else XRoadSubjectProfile(country)
        purpose = _purpose(member, server)
        with _open(token_dir, pkcs11_module, token_label) as store:
            request = request_certificate(store, label, profile, purpose)
        encoding = (serialization.Encoding.PEM if output_format is Format.PEM
                    else serialization.Encoding.DER)
        out.write_bytes(request.public_bytes(encoding))
        typer.echo(f"wrote CSR for {request.subject.rfc4514_string()} to {out}")


@app.command("import-cert")
def import_cert(
    label: Label,
    certificate: Annotated[Path, typer.Argument(
        help="PEM (leaf first or in any order, CA certificates allowed) or DER file.")],
    member: Member = None,
    server: Server = None,
    token_dir: TokenDir = None, pkcs11_module: Module = None, token_label: TokenLabel = None,
) -> None:
    """Store the certificate issued for a key, after checking it is for that key and owner."""
    with _clean_errors():
        purpose = _purpose(member, server)
        certs = load_certificates(certificate.read_bytes())
        with _open(token_dir, pkcs11_module, token_label) as store:
            entry = import_certificate(store, label, certs, purpose)
        cert = entry.certificate
        assert cert is not None  # noqa: S101 - import_certificate just stored it
        typer.echo(f"imported {cert.subject.rfc4514_string()} (sha256 {cert_sha256(cert)}) "
                   f"for key {label!r}")
