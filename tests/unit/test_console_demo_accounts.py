"""The demo's console accounts: generated once, kept on a rerun, renewed when the file that
holds their passwords is gone (so the banner never prints a password that does not work)."""

from __future__ import annotations

from datetime import UTC, datetime

from xroad.clock import FixedClock
from xroad.console.accounts import Accounts
from xroad.console.db import open_database
from xroad.demo.console_accounts import CREDENTIALS_FILE, console_db_url, ensure_demo_accounts

CLOCK = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))


def _works(console_dir, username, password):
    engine = open_database(console_db_url(console_dir))
    try:
        return Accounts(engine, CLOCK).authenticate(username, password) is not None
    finally:
        engine.dispose()


def test_accounts_are_made_once_and_kept(tmp_path):
    first = ensure_demo_accounts(tmp_path, CLOCK)
    assert set(first) == {"admin", "officer", "auditor", "operator", "citizen"}
    assert first["citizen"]["register_number"] == "УБ99112233"
    assert (tmp_path / CREDENTIALS_FILE).stat().st_mode & 0o077 == 0
    assert all(_works(tmp_path, name, doc["password"]) for name, doc in first.items())
    assert ensure_demo_accounts(tmp_path, CLOCK) == first


def test_a_lost_credentials_file_gives_new_passwords_that_work(tmp_path):
    first = ensure_demo_accounts(tmp_path, CLOCK)
    (tmp_path / CREDENTIALS_FILE).unlink()
    second = ensure_demo_accounts(tmp_path, CLOCK)
    assert second["admin"]["password"] != first["admin"]["password"]
    assert _works(tmp_path, "admin", second["admin"]["password"])
    assert not _works(tmp_path, "admin", first["admin"]["password"])
