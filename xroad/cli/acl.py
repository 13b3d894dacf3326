"""`xroad acl`: who may call which services of this security server (provider side)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from xroad.access import AccessRight, Endpoint
from xroad.errors import XRoadError
from xroad.identifiers import ServiceId, format_subject, parse_subject
from xroad.serverconf import ServerConf, grant, parse, revoke, write_atomically

app = typer.Typer(no_args_is_help=True, help="Access rights of a security server's services.")

DataDir = Annotated[Path, typer.Option(help="Data directory holding the security servers.")]
Server = Annotated[str | None, typer.Option(
    help="Security server id, e.g. MN/GOV/GASR/ss1 (needed when the data directory holds "
         "several).")]
Subject = Annotated[str, typer.Option(
    help="A subsystem (MN/GOV/EMONGOLIA/portal), GLOBALGROUP:MN/code or LOCALGROUP:code.")]
Service = Annotated[str, typer.Option(help="Service id, e.g. MN/GOV/GASR/civil-registry/persons.")]
Method = Annotated[str | None, typer.Option(help="REST endpoint method (GET, POST, ... or *).")]
PathPattern = Annotated[str | None, typer.Option(
    "--path", help="REST endpoint path pattern: '*' one segment, '**' any, e.g. /*/family.")]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def serverconf_path(data_dir: Path, server: str | None) -> Path:
    """The serverconf of `server`, or of the only server in `data_dir`."""
    found = sorted(p for p in (data_dir / "ss").glob("*/serverconf.toml"))
    ids = {p.parent.name.replace("_", "/"): p for p in found}
    if server is not None:
        if server not in ids:
            raise _fail(f"no security server {server} in {data_dir}; there are: "
                        f"{', '.join(ids) or 'none'}")
        return ids[server]
    if len(ids) != 1:
        raise _fail(f"{data_dir} holds {len(ids) or 'no'} security servers; choose one with "
                    f"--server: {', '.join(ids)}")
    return next(iter(ids.values()))


def _load(path: Path) -> ServerConf:
    try:
        return parse(path.read_text(encoding="utf-8"))
    except (OSError, XRoadError) as e:
        raise _fail(str(e)) from e


def _right(subject: str, service: str, method: str | None, path: str | None) -> AccessRight:
    try:
        service_id = ServiceId.parse(service)
        endpoint = None
        if (method is None) != (path is None):
            raise _fail("give both --method and --path for an endpoint, or neither")
        if method is not None and path is not None:
            endpoint = Endpoint(method.upper(), path)
        return AccessRight(parse_subject(subject), service_id.provider, service_id.service_code,
                           endpoint)
    except (XRoadError, ValueError) as e:
        raise _fail(str(e)) from e


def _describe(right: AccessRight) -> str:
    where = f"{right.provider}/{right.service_code}"
    if right.endpoint is not None:
        where += f" {right.endpoint.method} {right.endpoint.path}"
    return f"{format_subject(right.subject)} -> {where}"


@app.command("list")
def list_rights(data_dir: DataDir = Path("var"), server: Server = None) -> None:
    """Show every access right."""
    conf = _load(serverconf_path(data_dir, server))
    if not conf.access_rights:
        typer.echo("no access rights: every client is refused (AccessDenied)")
    for right in conf.access_rights:
        typer.echo(_describe(right))


@app.command("grant")
def grant_right(subject: Subject, service: Service, method: Method = None,
                path: PathPattern = None, data_dir: DataDir = Path("var"),
                server: Server = None) -> None:
    """Allow a subject to call a service (or one REST endpoint of it); effective within 1 s."""
    file = serverconf_path(data_dir, server)
    right = _right(subject, service, method, path)
    try:
        updated = grant(_load(file), right)
    except XRoadError as e:
        raise _fail(str(e)) from e
    write_atomically(file, updated)
    typer.echo(f"granted: {_describe(right)}")


@app.command("revoke")
def revoke_right(subject: Subject, service: Service, method: Method = None,
                 path: PathPattern = None, data_dir: DataDir = Path("var"),
                 server: Server = None) -> None:
    """Withdraw an access right exactly as it was granted; effective within 1 s."""
    file = serverconf_path(data_dir, server)
    right = _right(subject, service, method, path)
    try:
        updated = revoke(_load(file), right)
    except XRoadError as e:
        raise _fail(f"{e}: {_describe(right)}") from e
    write_atomically(file, updated)
    typer.echo(f"revoked: {_describe(right)}")
