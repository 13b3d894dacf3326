"""The append-only, hash-chained audit store (SQLite always; PostgreSQL when available)."""

import hashlib
import json
import sqlite3
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from audit.record import GENESIS, AuditRecord, entry_hash, leaf_hash
from audit.store import SqlAuditStore
from xroad.errors import LoggingFailed

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _record(at, i=0, **changes):
    record = AuditRecord(
        at=at + timedelta(seconds=i), security_server="MN/GOV/GASR/ss1", kind="request",
        message_id=f"msg-{i}", request_id=f"msg-{i}", client="MN/GOV/ALAMGAC/land",
        service="MN/GOV/GASR/civil/getPerson", user_id="MN123", issue=None,
        represented_party=None, message_digest="ZGlnZXN0", signature_digest="c2ln",
        signer_cert_sha256="ab" * 32, outcome="ok", latency_ms=12.5)
    return replace(record, **changes)


def _postgres_url():
    try:  # SqlAuditStore uses the URL as given, so SQLAlchemy's default driver must be present
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    except ImportError as e:
        pytest.skip(f"PostgreSQL driver {e.name!r} (SQLAlchemy's default for postgresql://) "
                    "is not installed in the venv")
    name = f"audit_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except SQLAlchemyError as e:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {type(e).__name__}")
    return admin, name, POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/a.db"
        return
    admin, name, url = _postgres_url()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def store(db_url):
    store = SqlAuditStore(db_url)
    yield store
    store.close()


def test_indexes_are_contiguous_from_zero(store, at):
    assert [store.append(_record(at, i)) for i in range(5)] == [0, 1, 2, 3, 4]
    assert store.size() == 5
    assert [e.index for e in store.entries()] == [0, 1, 2, 3, 4]
    assert [e.index for e in store.entries(3)] == [3, 4]


def test_entries_hold_canonical_bytes_and_chain(store, at):
    records = [_record(at, i) for i in range(3)]
    for r in records:
        store.append(r)
    previous = GENESIS
    for entry, record in zip(store.entries(), records, strict=True):
        assert entry.leaf == record.canonical_bytes()
        assert entry.entry_hash == entry_hash(previous, entry.leaf)
        previous = entry.entry_hash


def test_empty_store_verifies(store):
    assert store.verify_chain() == 0


def test_reopened_store_continues_index_and_chain(db_url, at):
    first = SqlAuditStore(db_url)
    assert [first.append(_record(at, i)) for i in range(3)] == [0, 1, 2]
    first.close()

    second = SqlAuditStore(db_url)
    try:
        assert second.append(_record(at, 3)) == 3
        assert second.verify_chain() == 4
    finally:
        second.close()


@pytest.mark.parametrize("statement", [
    pytest.param("UPDATE audit_log SET leaf = :leaf WHERE idx = 1", id="update"),
    pytest.param("DELETE FROM audit_log WHERE idx = 1", id="delete"),
    pytest.param("DELETE FROM audit_log", id="delete-all"),
])
def test_update_and_delete_are_refused_by_trigger(store, db_url, at, statement):
    for i in range(3):
        store.append(_record(at, i))
    engine = create_engine(db_url)
    try:
        with pytest.raises(SQLAlchemyError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement), {"leaf": b"forged"})
    finally:
        engine.dispose()
    assert store.verify_chain() == 3


@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET leaf = x'00' WHERE idx = 0",
    "UPDATE audit_log SET entry_hash = x'00'",
    "DELETE FROM audit_log WHERE idx = 2",
])
def test_raw_sqlite_update_and_delete_are_refused(tmp_path, at, statement):
    store = SqlAuditStore(f"sqlite:///{tmp_path}/a.db")
    for i in range(3):
        store.append(_record(at, i))
    conn = sqlite3.connect(tmp_path / "a.db")
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(statement)
    finally:
        conn.close()
    assert store.verify_chain() == 3
    store.close()


def _forge_leaf(conn, idx, record):
    conn.execute("UPDATE audit_log SET leaf = ? WHERE idx = ?", (record.canonical_bytes(), idx))


def _forge_leaf_and_link(conn, idx, record):
    (previous,) = conn.execute("SELECT entry_hash FROM audit_log WHERE idx = ?",
                               (idx - 1,)).fetchone()
    leaf = record.canonical_bytes()
    conn.execute("UPDATE audit_log SET leaf = ?, entry_hash = ? WHERE idx = ?",
                 (leaf, entry_hash(previous, leaf), idx))


# How an attacker with write access (triggers dropped) edits a copy; the index that breaks.
TAMPERING = {
    "leaf-changed": (lambda c, at: _forge_leaf(c, 1, _record(at, 1, outcome="denied")), 1),
    "first-leaf-changed": (lambda c, at: _forge_leaf(c, 0, _record(at, 0, user_id="x")), 0),
    "last-leaf-changed": (lambda c, at: _forge_leaf(c, 3, _record(at, 3, client="x")), 3),
    "leaf-and-its-link-rewritten": (
        lambda c, at: _forge_leaf_and_link(c, 1, _record(at, 1, outcome="denied")), 2),
    "entry-hash-changed": (
        lambda c, at: c.execute("UPDATE audit_log SET entry_hash = ? WHERE idx = 2",
                                (bytes(32),)), 2),
    "middle-entry-deleted": (lambda c, at: c.execute("DELETE FROM audit_log WHERE idx = 1"), 2),
    "first-entry-deleted": (lambda c, at: c.execute("DELETE FROM audit_log WHERE idx = 0"), 1),
    "entries-swapped": (lambda c, at: c.executescript(
        "UPDATE audit_log SET idx = -1 WHERE idx = 1;"
        "UPDATE audit_log SET idx = 1 WHERE idx = 2;"
        "UPDATE audit_log SET idx = 2 WHERE idx = -1;"), 1),
}


@pytest.mark.parametrize(("tamper", "broken_at"), TAMPERING.values(), ids=TAMPERING.keys())
def test_tampered_copy_fails_verification(tmp_path, at, tamper, broken_at):
    original = SqlAuditStore(f"sqlite:///{tmp_path}/a.db")
    for i in range(4):
        original.append(_record(at, i))

    src, dst = sqlite3.connect(tmp_path / "a.db"), sqlite3.connect(tmp_path / "copy.db")
    src.backup(dst)
    src.close()
    dst.executescript("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")
    tamper(dst, at)
    dst.commit()
    dst.close()

    copy = SqlAuditStore(f"sqlite:///{tmp_path}/copy.db")
    try:
        with pytest.raises(LoggingFailed, match=f"index {broken_at}"):
            copy.verify_chain()
    finally:
        copy.close()
    assert original.verify_chain() == 4
    original.close()


def test_concurrent_writer_collision_raises_logging_failed(tmp_path, at):
    url = f"sqlite:///{tmp_path}/a.db"
    first, second = SqlAuditStore(url), SqlAuditStore(url)
    try:
        assert first.append(_record(at, 0)) == 0
        with pytest.raises(LoggingFailed):
            second.append(_record(at, 1))  # believes index 0 is still free
        assert first.verify_chain() == 1
    finally:
        first.close()
        second.close()


def test_canonical_bytes_are_sorted_compact_json(at):
    record = _record(at, 0, user_id="Бат")
    data = record.canonical_bytes()
    doc = json.loads(data)
    assert list(doc) == sorted(doc)
    assert doc["at"] == "2025-01-01T12:00:00+00:00"
    assert "Бат".encode() in data
    assert b", " not in data
    assert b": " not in data
    assert data == _record(at, 0, user_id="Бат").canonical_bytes()
    assert data != _record(at, 0, user_id="Бас").canonical_bytes()


def test_leaf_and_entry_hash_follow_rfc_6962_prefix():
    assert leaf_hash(b"leaf") == hashlib.sha256(b"\x00leaf").digest()
    assert entry_hash(GENESIS, b"leaf") == hashlib.sha256(GENESIS + leaf_hash(b"leaf")).digest()
    assert entry_hash(GENESIS, b"a") != entry_hash(bytes([1]) * 32, b"a")
