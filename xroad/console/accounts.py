"""Console accounts: user name, role, scrypt password hash and, for a citizen, the one
register number whose data they may see (Estonia's data-tracker model).

Passwords are hashed with scrypt (memory-hard, in the standard library) and a per-user salt;
hashes are compared in constant time, and an unknown user name costs the same hash, so the
time taken does not tell which user names exist.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Final

import structlog
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from xroad.clock import Clock
from xroad.console.db import ConsoleAccount
from xroad.console.roles import ConsoleUser, Role

log = structlog.get_logger(__name__)

# scrypt cost: N=2^14, r=8, p=1 (16 MiB, tens of milliseconds); stored with each hash so
# they can be raised later without invalidating old hashes.
_N: Final = 2**14
_R: Final = 8
_P: Final = 1
_SALT_BYTES: Final = 16
_KEY_BYTES: Final = 32
USERNAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
REGISTER_NUMBER: Final = re.compile(r"[^\s/\\]{1,32}")
MIN_PASSWORD: Final = 12
MAX_PASSWORD: Final = 1024  # scrypt of a megabyte is a denial of service


class AccountError(ValueError):
    """A user name, role, password or register number the console does not accept."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=_KEY_BYTES,
                          maxmem=2 * 128 * n * r * p)


def hash_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"a password is {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(password, salt, _N, _R, _P)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


_DUMMY: Final = f"scrypt${_N}${_R}${_P}${_b64(bytes(_SALT_BYTES))}${_b64(bytes(_KEY_BYTES))}"


def verify_password(password: str, stored: str) -> bool:
    """True if `password` matches `stored`; never raises on a malformed hash or input."""
    if len(password) > MAX_PASSWORD:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest, validate=True)
        actual = _scrypt(password, base64.b64decode(salt, validate=True), int(n), int(r),
                         int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def check_username(username: str) -> str:
    if not USERNAME.fullmatch(username):
        raise AccountError("a user name is 1 to 64 letters, digits, '.', '_' or '-'")
    return username


@dataclass(frozen=True)
class Accounts:
    engine: Engine
    clock: Clock

    def add(self, username: str, role: Role, password: str,
            register_number: str | None = None) -> ConsoleUser:
        """A new account; a citizen must name their register number, nobody else may."""
        check_username(username)
        if (role is Role.CITIZEN) != (register_number is not None):
            raise AccountError("a citizen account, and only a citizen account, names a "
                               "register number")
        if register_number is not None and not REGISTER_NUMBER.fullmatch(register_number):
            raise AccountError("a register number is 1 to 32 characters without spaces")
        with Session(self.engine) as s, s.begin():
            if s.get(ConsoleAccount, username) is not None:
                raise AccountError(f"user {username} exists already")
            s.add(ConsoleAccount(username=username, role=str(role),
                                 register_number=register_number,
                                 password_hash=hash_password(password),
                                 created_at=self.clock.now().replace(tzinfo=None)))
        log.info("console.account_added", username=username, role=str(role))
        return ConsoleUser(username, role, register_number)

    def set_password(self, username: str, password: str) -> None:
        with Session(self.engine) as s, s.begin():
            row = s.get(ConsoleAccount, username)
            if row is None:
                raise AccountError(f"no user {username}")
            row.password_hash = hash_password(password)
        log.info("console.password_changed", username=username)

    def get(self, username: str) -> ConsoleUser | None:
        with Session(self.engine) as s:
            row = s.get(ConsoleAccount, username)
            return None if row is None else _user(row)

    def authenticate(self, username: str, password: str) -> ConsoleUser | None:
        """The user if the password is theirs (the same work either way)."""
        row = None
        if USERNAME.fullmatch(username):
            with Session(self.engine) as s:
                row = s.get(ConsoleAccount, username)
                if row is not None:
                    s.expunge(row)
        if row is None:
            verify_password(password, _DUMMY)
            return None
        if not verify_password(password, row.password_hash):
            return None
        return _user(row)

    def list(self) -> list[ConsoleUser]:
        with Session(self.engine) as s:
            return [_user(r) for r in s.scalars(select(ConsoleAccount)
                                                .order_by(ConsoleAccount.username))]


def _user(row: ConsoleAccount) -> ConsoleUser:
    return ConsoleUser(row.username, Role(row.role), row.register_number)
