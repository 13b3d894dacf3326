"""`xroad`: run the demo instance, serve components, inspect the bus."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from xroad import __version__
from xroad.cli import (
    acl,
    adapter,
    audit,
    central_keys,
    console_users,
    federation,
    globalconf,
    init,
    keys,
    members,
    pki,
    registration,
    serve,
    server,
)

app = typer.Typer(no_args_is_help=True, help="X-Road-compatible data-exchange bus.",
                  pretty_exceptions_enable=False)
app.add_typer(serve.app, name="serve")
app.add_typer(keys.app, name="keys")
app.add_typer(acl.app, name="acl")
app.add_typer(pki.app, name="pki")
app.add_typer(audit.app, name="audit")
app.command("init")(init.init)
app.add_typer(members.member_app, name="member")
app.add_typer(members.subsystem_app, name="subsystem")
app.add_typer(registration.app, name="registration")
app.add_typer(server.app, name="server")
app.add_typer(globalconf.app, name="globalconf")
app.add_typer(federation.app, name="federation")
app.add_typer(central_keys.app, name="central-api-key")
app.add_typer(adapter.app, name="adapter")
app.add_typer(console_users.app, name="console")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@app.command()
def demo(
    data_dir: Annotated[Path, typer.Option(help="Where keys, databases and logs live.")] = Path(
        "var"),
    free_ports: Annotated[bool, typer.Option(
        help="Pick free ports instead of the defaults (for tests and crowded machines).")] = False,
) -> None:
    """Start the embedded demo instance (central server, security servers, registries)."""
    from xroad.cli.demo import run_demo  # noqa: PLC0415 - heavy imports only when used

    raise typer.Exit(run_demo(data_dir, free_ports=free_ports))


def run() -> None:
    app()


if __name__ == "__main__":
    run()
