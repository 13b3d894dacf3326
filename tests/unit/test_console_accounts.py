"""Console accounts and password hashing: scrypt with a salt per hash, constant-time checks,
no exception for hostile input, and the citizen's bound register number."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from xroad.clock import FixedClock
from xroad.console.accounts import (
    AccountError,
    Accounts,
    hash_password,
    verify_password,
)
from xroad.console.db import ConsoleAccount, open_database
from xroad.console.roles import Role

PASSWORD = "correct horse battery"  # TEST ONLY


@pytest.fixture
def accounts(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path}/console.db")
    yield Accounts(engine, FixedClock(datetime(2026, 1, 1, tzinfo=UTC)))
    engine.dispose()


def test_a_hash_is_salted_scrypt_and_verifies_only_its_password():
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first.startswith("scrypt$16384$8$1$")
    assert first != second  # a salt per hash: equal passwords do not show
    assert PASSWORD not in first
    assert verify_password(PASSWORD, first)
    assert verify_password(PASSWORD, second)
    assert not verify_password(PASSWORD + "x", first)
    assert not verify_password("", first)


@pytest.mark.parametrize("stored", ["", "plain", "scrypt$1$2$3", "md5$16384$8$1$AA==$AA==",
                                    "scrypt$16384$8$1$not base64!$AA==",
                                    "scrypt$x$8$1$AAAA$AAAA", "scrypt$3$8$1$AAAA$AAAA"])
def test_a_malformed_hash_is_a_mismatch_not_an_exception(stored):
    assert not verify_password(PASSWORD, stored)


@pytest.mark.parametrize("password", ["short", "x" * 1025])
def test_passwords_too_short_or_too_long_are_refused(password):
    with pytest.raises(AccountError):
        hash_password(password)
    assert not verify_password(password, hash_password(PASSWORD))


def test_accounts_authenticate_by_password(accounts):
    accounts.add("admin", Role.ADMINISTRATOR, PASSWORD)
    user = accounts.authenticate("admin", PASSWORD)
    assert user is not None
    assert user.role is Role.ADMINISTRATOR
    assert user.register_number is None
    assert accounts.authenticate("admin", "wrong password!") is None
    assert accounts.authenticate("nobody", PASSWORD) is None
    assert accounts.authenticate("bad name with spaces", PASSWORD) is None
    assert accounts.authenticate("x" * 10_000, PASSWORD) is None
    accounts.set_password("admin", "another long password")
    assert accounts.authenticate("admin", PASSWORD) is None
    assert accounts.authenticate("admin", "another long password") is not None


def test_only_a_citizen_is_bound_to_a_register_number(accounts):
    citizen = accounts.add("citizen", Role.CITIZEN, PASSWORD, "УБ99112233")
    assert citizen.register_number == "УБ99112233"
    with pytest.raises(AccountError):
        accounts.add("c2", Role.CITIZEN, PASSWORD)
    with pytest.raises(AccountError):
        accounts.add("a2", Role.AUDITOR, PASSWORD, "УБ99112233")
    with pytest.raises(AccountError):
        accounts.add("c3", Role.CITIZEN, PASSWORD, "УБ 99")


@pytest.mark.parametrize("username", ["", "-x", "a b", "ü", "a/b", "x" * 65])
def test_user_names_are_checked(accounts, username):
    with pytest.raises(AccountError):
        accounts.add(username, Role.AUDITOR, PASSWORD)


def test_a_user_name_is_taken_once(accounts):
    accounts.add("officer", Role.REGISTRATION_OFFICER, PASSWORD)
    with pytest.raises(AccountError):
        accounts.add("officer", Role.AUDITOR, PASSWORD)


def test_the_database_keeps_no_password(accounts):
    accounts.add("admin", Role.ADMINISTRATOR, PASSWORD)
    with Session(accounts.engine) as s:
        row = s.get(ConsoleAccount, "admin")
        assert row is not None
        assert PASSWORD not in row.password_hash
