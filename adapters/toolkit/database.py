"""A registry's own database: opened the same way by every adapter."""

from pathlib import Path

from sqlalchemy import Engine, create_engine, make_url


def connect(database_url: str) -> Engine:
    """Open the registry database, creating a SQLite file's parent directory if missing."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    return create_engine(url)
