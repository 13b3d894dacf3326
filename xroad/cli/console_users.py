"""`xroad console user ...`: the web console's accounts (in its own database; the console need
not be running). The password comes from XROAD_CONSOLE_PASSWORD or a hidden prompt, never
from the command line (where `ps` and shell history would keep it)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from xroad.console.accounts import Accounts

PASSWORD_VARIABLE = "XROAD_CONSOLE_PASSWORD"  # noqa: S105 - the variable's name

app = typer.Typer(no_args_is_help=True, help="The web console: its user accounts.")
user_app = typer.Typer(no_args_is_help=True, help="Console accounts: add, list, password.")
app.add_typer(user_app, name="user")

ConsoleDir = Annotated[Path, typer.Option(
    "--console-dir", help="The console's data directory (console.db); the demo's is "
                          "var/console.")]
DatabaseUrl = Annotated[str | None, typer.Option(
    help="The console's database URL instead of <console-dir>/console.db.")]


def _accounts(console_dir: Path, database_url: str | None) -> Accounts:
    from xroad.clock import SystemClock  # noqa: PLC0415 - the database layer only when used
    from xroad.console.accounts import Accounts  # noqa: PLC0415
    from xroad.console.db import open_database  # noqa: PLC0415

    console_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    engine = open_database(database_url or f"sqlite:///{console_dir / 'console.db'}")
    return Accounts(engine, SystemClock())


def _password() -> str:
    if found := os.environ.get(PASSWORD_VARIABLE):
        return found
    entered: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return entered


@user_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Letters, digits, '.', '_' or '-'.")],
    role: Annotated[str, typer.Option(help="administrator, registration-officer, auditor, "
                                           "security-server-operator or citizen.")],
    register_number: Annotated[str | None, typer.Option(
        help="A citizen's own register number (citizens only).")] = None,
    console_dir: ConsoleDir = Path("var/console"), database_url: DatabaseUrl = None,
) -> None:
    """Add an account."""
    from xroad.console.accounts import AccountError  # noqa: PLC0415
    from xroad.console.roles import Role  # noqa: PLC0415

    try:
        chosen = Role(role)
    except ValueError:
        typer.echo(f"error: unknown role {role!r}; one of: {', '.join(Role)}", err=True)
        raise typer.Exit(1) from None
    try:
        user = _accounts(console_dir, database_url).add(username, chosen, _password(),
                                                        register_number)
    except AccountError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"added {user.username} ({user.role})")


@user_app.command("list")
def list_users(console_dir: ConsoleDir = Path("var/console"),
               database_url: DatabaseUrl = None) -> None:
    """The accounts and their roles."""
    for user in _accounts(console_dir, database_url).list():
        bound = f"  {user.register_number}" if user.register_number else ""
        typer.echo(f"{user.username:<24} {user.role}{bound}")


@user_app.command("password")
def password(username: str, console_dir: ConsoleDir = Path("var/console"),
             database_url: DatabaseUrl = None) -> None:
    """Set a new password (open sessions stay until they expire or the user signs out)."""
    from xroad.console.accounts import AccountError  # noqa: PLC0415

    try:
        _accounts(console_dir, database_url).set_password(username, _password())
    except AccountError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"password of {username} changed")
