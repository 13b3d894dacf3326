"""`xroad central-api-key ...`: keys of the central server's admin API, made directly in its
database (run on the central server's host: how the first administrator key comes to be;
later ones can also be made through the API by an administrator)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from xroad.central.roles import KEY_FILE_NAMES, Role
from xroad.cli.central_client import fail
from xroad.errors import XRoadError

if TYPE_CHECKING:
    from xroad.central.admin_auth import ApiKeyStore

app = typer.Typer(no_args_is_help=True,
                  help="Admin API keys of the central server (on the central server's host).")

DB_VARIABLE = "XROAD_CS_DATABASE_URL"
DataDir = Annotated[Path, typer.Option(
    help="Data directory; the central database is <data-dir>/central/central.db.")]
DatabaseUrl = Annotated[str | None, typer.Option(
    "--database-url", help=f"Central database URL (default: ${DB_VARIABLE}, $XROAD_DATABASE_URL "
                           "or the data dir's).")]


@contextmanager
def _store(data_dir: Path, database_url: str | None) -> Iterator[ApiKeyStore]:
    # The database layer loads only for these commands, not for every `xroad` invocation.
    from sqlalchemy import create_engine  # noqa: PLC0415

    from xroad.central.admin_auth import ApiKeyStore  # noqa: PLC0415
    from xroad.central.database import migrate  # noqa: PLC0415
    from xroad.clock import SystemClock  # noqa: PLC0415

    url = database_url or os.environ.get(DB_VARIABLE) or os.environ.get("XROAD_DATABASE_URL")
    if url is None:
        path = data_dir / "central" / "central.db"
        if not path.is_file():
            fail(f"no central database at {path}; give --data-dir or --database-url")
        url = f"sqlite:///{path}"
    engine = create_engine(url)
    try:
        migrate(engine)  # the schema the central server would bring it to anyway
        yield ApiKeyStore(engine, SystemClock())
    except XRoadError as e:
        fail(str(e))
    finally:
        engine.dispose()


@app.command()
def create(
    role: Annotated[Role, typer.Option(help="What the key may do.")],
    name: Annotated[str, typer.Option(help="Whom the key is for (shown in the audit trail).")],
    out: Annotated[Path | None, typer.Option(
        help="Where to write the key (mode 0600); default <data-dir>/central/<role file>.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing key file.")] = False,
    data_dir: DataDir = Path("var"), database_url: DatabaseUrl = None,
) -> None:
    """Issue a key and write it to a file only its owner can read (never printed)."""
    from xroad.central.admin_auth import write_key_file  # noqa: PLC0415 - see `_store`

    path = out or data_dir / "central" / KEY_FILE_NAMES[role]
    if path.exists() and not force:
        fail(f"{path} exists; use --force to replace it (the old key stays valid until "
             "revoked)")
    with _store(data_dir, database_url) as store:
        issued = store.create(role, name)
    write_key_file(path, issued.token)
    typer.echo(f"issued {role} key {issued.key_id} for {issued.name!r}; written to {path}")


@app.command("list")
def list_keys(data_dir: DataDir = Path("var"), database_url: DatabaseUrl = None) -> None:
    """Every key: id, role, name, when made and revoked (never the key itself)."""
    with _store(data_dir, database_url) as store:
        keys = store.list()
    for k in keys:
        revoked = f"  revoked {k.revoked_at.isoformat()}" if k.revoked_at else ""
        typer.echo(f"{k.key_id}  {k.role:<20}  {k.name}  (made {k.created_at.isoformat()})"
                   f"{revoked}")
    if not keys:
        typer.echo("no keys")


@app.command()
def revoke(key_id: Annotated[str, typer.Argument(help="The key's id, as `list` shows.")],
           data_dir: DataDir = Path("var"), database_url: DatabaseUrl = None) -> None:
    """Revoke a key at once."""
    with _store(data_dir, database_url) as store:
        info = store.revoke(key_id)
    typer.echo(f"revoked {info.key_id} ({info.role}, {info.name})")
