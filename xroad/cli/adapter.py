"""`xroad adapter new NAME`: scaffold a registry adapter for a ministry's own registry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, help="Registry adapters (the providers' side).")


@app.command("new")
def new(
    name: Annotated[str, typer.Argument(
        help="The registry's Python package name: lowercase, e.g. social_welfare.")],
    directory: Annotated[Path, typer.Option(
        "--dir", help="Where to create the package directory NAME.")] = Path(),
    member: Annotated[str, typer.Option(
        help="The member that owns the registry, INSTANCE/CLASS/CODE.")] = "MN/GOV/XYZ",
    subsystem: Annotated[str | None, typer.Option(
        help="Its subsystem code (default: NAME-registry, underscores as dashes).")] = None,
    title: Annotated[str | None, typer.Option(help="A human-readable title.")] = None,
    port: Annotated[int, typer.Option(help="The port its README and WSDL suggest.")] = 9010,
) -> None:
    """Write a working registry package (SOAP + REST, model, seed, tests) to adapt."""
    from adapters.toolkit.scaffold import (  # noqa: PLC0415 - only this command needs them
        ScaffoldError,
        new_registry,
        write_registry,
    )

    try:
        registry = new_registry(name, member=member, subsystem=subsystem, title=title, port=port)
        written = write_registry(registry, directory)
    except (ScaffoldError, OSError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e
    package = directory / name
    service = f"{registry.subsystem}/{registry.variables()['service_code']}"
    typer.echo(f"Created {registry.subsystem} in {package}/:")
    for path in written:
        typer.echo(f"  {path.relative_to(package)}")
    typer.echo(f"""
Next steps (details in {package / 'README.md'} and docs/connect-a-registry.md):
  cd {directory} && python -m pytest {name}/tests
  XROAD_{name.upper()}_DATABASE_URL=sqlite:///{name}.db \\
      uvicorn --factory {name}.app:from_environment --port {registry.port}
  xroad subsystem add {registry.subsystem}
  xroad server register --client {registry.subsystem}
  (describe its services in the security server's serverconf.toml)
  xroad acl grant --subject CLIENT --service {service}""")
