"""Server-side sessions and the sign-in rate limit.

A session id is 32 random bytes, sent only in the `console_session` cookie (HttpOnly,
SameSite=Strict, Secure unless a plain-http loopback demo says otherwise); the database keeps
only its SHA-256, with the user, an expiry and the session's CSRF token. Signing out deletes
the row, so a copied cookie stops working at once.

Failed sign-ins are counted per user name and per client address in a sliding window: a
password-guessing run against one account, or from one address across accounts, gets 429
with Retry-After. The counts live in this process (one console process per deployment).
"""

from __future__ import annotations

import hashlib
import secrets
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from xroad.clock import Clock
from xroad.console.db import ConsoleAccount, ConsoleSession
from xroad.console.roles import ConsoleUser, Role

COOKIE: Final = "console_session"
_ID_BYTES: Final = 32
_MAX_TRACKED: Final = 10_000  # user names and addresses with recent failures


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class ActiveSession:
    user: ConsoleUser
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class Sessions:
    engine: Engine
    clock: Clock
    ttl: timedelta

    def start(self, user: ConsoleUser) -> tuple[str, ActiveSession]:
        """A new session for `user`: (the id for the cookie, the session)."""
        session_id = secrets.token_urlsafe(_ID_BYTES)
        now = self.clock.now().replace(tzinfo=None)
        csrf = secrets.token_urlsafe(_ID_BYTES)
        with Session(self.engine) as s, s.begin():
            s.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
            s.add(ConsoleSession(id_sha256=_digest(session_id), username=user.username,
                                 csrf_token=csrf, created_at=now, expires_at=now + self.ttl))
        return session_id, ActiveSession(user, csrf, now + self.ttl)

    def find(self, session_id: str | None) -> ActiveSession | None:
        """The live session of this cookie value, with its user as the database has them now
        (a changed role takes effect on the next page)."""
        if not session_id or len(session_id) > 128:
            return None
        now = self.clock.now().replace(tzinfo=None)
        with Session(self.engine) as s:
            row = s.get(ConsoleSession, _digest(session_id))
            if row is None or row.expires_at <= now:
                return None
            account = s.get(ConsoleAccount, row.username)
            if account is None:
                return None
            user = ConsoleUser(account.username, Role(account.role), account.register_number)
            return ActiveSession(user, row.csrf_token, row.expires_at)

    def end(self, session_id: str | None) -> None:
        if session_id:
            with Session(self.engine) as s, s.begin():
                s.execute(delete(ConsoleSession).where(
                    ConsoleSession.id_sha256 == _digest(session_id)))


@dataclass
class SignInLimiter:
    """At most `max_failures` failed sign-ins per user name and per client address within
    `window`; a success does not reset the address's count (it could be a shared guesser)."""

    clock: Clock
    max_failures: int
    window: timedelta
    _failures: dict[str, deque[datetime]] = field(default_factory=dict)

    def _recent(self, key: str) -> deque[datetime]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        cutoff = self.clock.now() - self.window
        while times and times[0] <= cutoff:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, username: str, address: str) -> int | None:
        """Seconds until another attempt is allowed, or None if allowed now."""
        waits = []
        for key in (f"user:{username.lower()}", f"addr:{address}"):
            times = self._recent(key)
            if len(times) >= self.max_failures:
                free_at = times[len(times) - self.max_failures] + self.window
                waits.append(max(1, int((free_at - self.clock.now()).total_seconds()) + 1))
        return max(waits) if waits else None

    def failed(self, username: str, address: str) -> None:
        now = self.clock.now()
        if len(self._failures) > _MAX_TRACKED:  # many names tried: forget the expired ones
            for key in list(self._failures):
                self._recent(key)
        for key in (f"user:{username.lower()[:64]}", f"addr:{address}"):
            self._failures.setdefault(key, deque()).append(now)
            times = self._failures[key]
            while len(times) > self.max_failures * 4:  # bounded memory per key
                times.popleft()
