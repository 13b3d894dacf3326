"""The central server's database schema, kept by Alembic migrations (`migrations/`).

`migrate()` brings any database to the newest schema: a new one is created, an older one is
upgraded in place, and one made before migrations existed (the foundation's `create_all`) is
recognised as revision 0001 first.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

MIGRATIONS = Path(__file__).parent / "migrations"
FIRST_REVISION = "0001"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(engine: Engine) -> str:
    """Upgrade the schema to the newest revision; return it."""
    config = _config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        tables = inspect(conn)
        if tables.has_table("member") and not tables.has_table("alembic_version"):
            command.stamp(config, FIRST_REVISION)
        command.upgrade(config, "head")
    return head()


def head() -> str:
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    if revision is None:
        raise RuntimeError(f"no migrations in {MIGRATIONS}")
    return revision


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
