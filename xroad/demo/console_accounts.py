"""The demo's web console accounts: one per role, with generated passwords.

The passwords are written to `<data-dir>/console/demo-credentials.json` (owner-only) so that
`make run` can print the administrator's; a rerun keeps them, and an account whose password
no longer matches the file gets a fresh one. Not for production: real accounts are made by
an administrator, and their passwords are never written down by the system.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Final

from xroad.clock import Clock
from xroad.console.accounts import Accounts
from xroad.console.db import open_database
from xroad.console.roles import Role

CREDENTIALS_FILE: Final = "demo-credentials.json"
CITIZEN_REGISTER_NUMBER: Final = "УБ99112233"  # the demo person in all four registries
DEMO_ACCOUNTS: Final = (("admin", Role.ADMINISTRATOR), ("officer", Role.REGISTRATION_OFFICER),
                        ("auditor", Role.AUDITOR), ("operator", Role.SECURITY_SERVER_OPERATOR),
                        ("citizen", Role.CITIZEN))


def console_db_url(console_dir: Path) -> str:
    return f"sqlite:///{console_dir / 'console.db'}"


def read_credentials(console_dir: Path) -> dict[str, dict[str, str]]:
    """{user name: {"role", "password", ...}} as the demo wrote them ({} if none)."""
    try:
        doc = json.loads((console_dir / CREDENTIALS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def ensure_demo_accounts(console_dir: Path, clock: Clock,
                         register_number: str = CITIZEN_REGISTER_NUMBER
                         ) -> dict[str, dict[str, str]]:
    """Make (or keep) the demo accounts; returns what the credentials file holds."""
    console_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # password hashes, sessions
    known = read_credentials(console_dir)
    engine = open_database(console_db_url(console_dir))
    try:
        accounts = Accounts(engine, clock)
        written: dict[str, dict[str, str]] = {}
        for username, role in DEMO_ACCOUNTS:
            number = register_number if role is Role.CITIZEN else None
            password = str(known.get(username, {}).get("password", ""))
            existing = accounts.get(username)
            if existing is None:
                password = secrets.token_urlsafe(12)
                accounts.add(username, role, password, number)
            elif existing.role is not role or accounts.authenticate(username, password) is None:
                password = secrets.token_urlsafe(12)
                accounts.set_password(username, password)
            written[username] = {"role": str(role), "password": password}
            if number is not None:
                written[username]["register_number"] = number
    finally:
        engine.dispose()
    _write_private(console_dir / CREDENTIALS_FILE,
                   json.dumps(written, indent=2, ensure_ascii=False) + "\n")
    return written
