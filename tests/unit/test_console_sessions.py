"""Server-side sessions (hashed ids, expiry, sign-out) and the sign-in rate limit."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from xroad.clock import FixedClock
from xroad.console.accounts import Accounts
from xroad.console.db import ConsoleAccount, ConsoleSession, open_database
from xroad.console.roles import Role
from xroad.console.sessions import Sessions, SignInLimiter

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def world(tmp_path):
    clock = FixedClock(T0)
    engine = open_database(f"sqlite:///{tmp_path}/console.db")
    accounts = Accounts(engine, clock)
    user = accounts.add("auditor", Role.AUDITOR, "a long password")
    yield clock, accounts, Sessions(engine, clock, timedelta(hours=1)), user
    engine.dispose()


def test_a_session_is_found_by_its_id_until_it_expires(world):
    clock, _, sessions, user = world
    session_id, active = sessions.start(user)
    assert len(session_id) >= 43  # 32 random bytes
    assert sessions.find(session_id).user == user
    assert sessions.find(session_id).csrf_token == active.csrf_token
    assert sessions.find(session_id + "x") is None
    assert sessions.find(None) is None
    assert sessions.find("") is None
    assert sessions.find("y" * 10_000) is None
    clock.advance(timedelta(minutes=59))
    assert sessions.find(session_id) is not None
    clock.advance(timedelta(minutes=1))
    assert sessions.find(session_id) is None


def test_only_the_hash_of_a_session_id_is_stored(world):
    _, _, sessions, user = world
    session_id, _ = sessions.start(user)
    with Session(sessions.engine) as s:
        stored = s.scalars(select(ConsoleSession.id_sha256)).all()
    assert stored == [hashlib.sha256(session_id.encode()).hexdigest()]


def test_each_session_has_its_own_id_and_csrf_token(world):
    _, _, sessions, user = world
    first_id, first = sessions.start(user)
    second_id, second = sessions.start(user)
    assert first_id != second_id
    assert first.csrf_token != second.csrf_token


def test_signing_out_ends_the_session_at_once(world):
    _, _, sessions, user = world
    session_id, _ = sessions.start(user)
    sessions.end(session_id)
    assert sessions.find(session_id) is None


def test_a_changed_role_applies_to_open_sessions(world):
    _, _, sessions, user = world
    session_id, _ = sessions.start(user)
    with Session(sessions.engine) as s, s.begin():
        s.get(ConsoleAccount, "auditor").role = str(Role.CITIZEN)
    assert sessions.find(session_id).user.role is Role.CITIZEN


def limiter(clock):
    return SignInLimiter(clock, max_failures=5, window=timedelta(minutes=5))


def test_five_failures_for_one_user_name_block_it_for_the_window():
    clock = FixedClock(T0)
    limit = limiter(clock)
    for n in range(5):
        assert limit.retry_after("officer", f"10.0.0.{n}") is None
        limit.failed("officer", f"10.0.0.{n}")
    wait = limit.retry_after("officer", "10.0.0.99")
    assert wait is not None
    assert 290 <= wait <= 301
    assert limit.retry_after("OFFICER", "10.0.0.99") is not None  # case does not help
    assert limit.retry_after("auditor", "10.0.0.99") is None  # others are not blocked
    clock.advance(timedelta(minutes=5))
    assert limit.retry_after("officer", "10.0.0.99") is None


def test_five_failures_from_one_address_block_it_across_user_names():
    clock = FixedClock(T0)
    limit = limiter(clock)
    for n in range(5):
        limit.failed(f"user{n}", "192.0.2.7")
    assert limit.retry_after("someone-else", "192.0.2.7") is not None
    assert limit.retry_after("someone-else", "192.0.2.8") is None


def test_the_window_slides():
    clock = FixedClock(T0)
    limit = limiter(clock)
    for _ in range(4):
        limit.failed("officer", "a")
    clock.advance(timedelta(minutes=4))
    limit.failed("officer", "a")
    assert limit.retry_after("officer", "a") is not None
    clock.advance(timedelta(minutes=1, seconds=1))  # the first four have left the window
    assert limit.retry_after("officer", "a") is None
    limit.failed("officer", "a")
    assert limit.retry_after("officer", "a") is None  # two in the window
