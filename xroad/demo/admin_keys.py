"""The demo central server's admin API keys: one per role, in files only the owner can read."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine

from xroad.central.admin_auth import ApiKeyStore, ensure_key_file
from xroad.central.roles import KEY_FILE_NAMES
from xroad.clock import Clock


def ensure_central_admin_keys(central_dir: Path, database_url: str, clock: Clock) -> None:
    """Keep each role's key file if its key still works; otherwise issue a new one."""
    engine = create_engine(database_url)
    try:
        store = ApiKeyStore(engine, clock)
        for role, name in KEY_FILE_NAMES.items():
            ensure_key_file(store, central_dir / name, role, f"demo {role}")
    finally:
        engine.dispose()
