"""`xroad init`: create a new instance (a new country's central server, trust services and
configuration anchor) in an empty directory.

The token PIN comes from XROAD_TOKEN_PIN or is generated and kept in the directory; it is
never printed. Refusals are one line on stderr and exit status 1, with nothing written.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from xroad.clock import SystemClock
from xroad.errors import XRoadError
from xroad.logs import configure_logging
from xroad.newinstance import CertFile, InitOptions, plan_instance
from xroad.newinstance.launch import PIN_VARIABLE
from xroad.newinstance.plan import DEFAULT_CENTRAL_URL, DEFAULT_OCSP_URL, DEFAULT_TSA_URL


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _read(paths: list[Path] | None, option: str) -> tuple[CertFile, ...]:
    files: list[CertFile] = []
    for path in paths or ():
        try:
            files.append(CertFile(str(path), path.read_bytes()))
        except OSError as e:
            _fail(f"{option} {path}: {e.strerror or e}")
    return tuple(files)


def _xroad_command() -> str:
    """The `xroad` the start scripts run: the one beside this Python (a venv), else PATH's."""
    return shutil.which("xroad", path=str(Path(sys.executable).parent)) or "xroad"


def init(
    instance: Annotated[str, typer.Option(help="Instance code, e.g. LA (X-Road identifier).")],
    name: Annotated[str, typer.Option(help='The instance\'s name, e.g. "Lao PDR".')],
    member_classes: Annotated[str, typer.Option(help="Member classes, comma-separated: GOV,COM.")],
    data_dir: Annotated[Path, typer.Option(help="New or empty directory for the instance.")],
    first_member: Annotated[str | None, typer.Option(
        help="A first member, CLASS/CODE, e.g. GOV/MOHA.")] = None,
    first_member_name: Annotated[str | None, typer.Option(
        help='Its name, e.g. "Ministry of Home Affairs".')] = None,
    central_url: Annotated[str, typer.Option(
        help="Where security servers reach the central server (http).")] = DEFAULT_CENTRAL_URL,
    ca_cert: Annotated[list[Path] | None, typer.Option(
        help="Import the country's CA certificate(s) (PEM or DER; repeat for several) instead "
             "of creating a dev PKI.")] = None,
    ocsp_url: Annotated[list[str] | None, typer.Option(
        help=f"OCSP responder: with --ca-cert, one for all or one per file; else where the "
             f"dev PKI's is served (default {DEFAULT_OCSP_URL}).")] = None,
    tsa_url: Annotated[list[str] | None, typer.Option(
        help=f"Time-stamping authority (repeatable with --ca-cert; needed then); else where "
             f"the dev PKI's is served (default {DEFAULT_TSA_URL}).")] = None,
    tsa_cert: Annotated[list[Path] | None, typer.Option(
        help="Certificate of each --tsa-url, in the same order (with --ca-cert).")] = None,
) -> None:
    """Create a new instance (central server, trust services, anchor) in an empty directory."""
    from xroad.newinstance.create import create_instance  # noqa: PLC0415 - database code
    from xroad.newinstance.summary import render_summary  # noqa: PLC0415

    configure_logging(json=False, level=logging.WARNING)  # progress lines say what happens
    started = time.monotonic()
    at = SystemClock().now()
    options = InitOptions(
        instance=instance, name=name, member_classes=member_classes, first_member=first_member,
        first_member_name=first_member_name, central_url=central_url,
        ocsp_urls=tuple(ocsp_url or ()), tsa_urls=tuple(tsa_url or ()),
        ca_certs=_read(ca_cert, "--ca-cert"), tsa_certs=_read(tsa_cert, "--tsa-cert"))
    try:
        plan = plan_instance(options, at)
        typer.echo(f"Creating instance {plan.instance} ({plan.name}) in {data_dir.absolute()} ...")
        created = create_instance(plan, data_dir, pin=os.environ.get(PIN_VARIABLE) or None,
                                  at=at, xroad=_xroad_command(),
                                  progress=lambda line: typer.echo(f"  - {line}"))
    except XRoadError as e:
        _fail(str(e))
    except OSError as e:
        _fail(f"{e.filename or data_dir}: {e.strerror or e}; nothing was written")
    typer.echo(f"Done in {time.monotonic() - started:.1f} s.\n")
    typer.echo(render_summary(created))
