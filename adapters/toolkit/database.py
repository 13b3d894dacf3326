"""A registry's own database: opened, created and seeded the same way by every adapter."""

from collections.abc import Callable
from enum import Enum as PyEnum
from pathlib import Path
from typing import Final

import structlog
from sqlalchemy import Engine, Enum, MetaData, create_engine, make_url
from sqlalchemy.orm import Session, sessionmaker

_log: Final = structlog.get_logger(__name__)


def connect(database_url: str) -> Engine:
    """Open the registry database, creating a SQLite file's parent directory if missing."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    return create_engine(url)


def open_registry(
    database_url: str, metadata: MetaData, seed_if_empty: Callable[[Session], bool], *, name: str
) -> tuple[Engine, sessionmaker[Session]]:
    """The registry's engine and sessions, its missing tables created and an empty one seeded.

    Seeding runs in one transaction, so a failure half-way leaves the registry empty and it is
    seeded again at the next start; existing tables and data are left alone.
    """
    engine = connect(database_url)
    metadata.create_all(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    with sessions.begin() as session:
        if seed_if_empty(session):
            _log.info("registry.seeded", registry=name)
    return engine, sessions


def wire_enum(enum: type[PyEnum]) -> Enum:
    """A column type storing an enum's wire value (`passed`), not its Python name (`PASSED`),
    as a plain string column (no database enum type to migrate)."""
    return Enum(
        enum,
        native_enum=False,
        length=16,
        values_callable=lambda members: [member.value for member in members],
    )
