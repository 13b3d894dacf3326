"""The append-only audit store and its stored tree (SQLite always; PostgreSQL when available)."""

import hashlib
import json
import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from audit.integrity import TamperedLog, check_integrity
from audit.merkle import consistency_proof, inclusion_proof, leaf_hash, root
from audit.record import AuditEntry, AuditRecord, SealedBody
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
    assert [r.index for r in store.records()] == [0, 1, 2, 3, 4]
    assert [r.index for r in store.records(3)] == [3, 4]
    assert [r.index for r in store.records(1, 3)] == [1, 2]


def test_roots_and_proofs_of_every_size_match_the_reference_tree(store, at):
    records = [_record(at, i) for i in range(13)]
    for batch in (records[:1], records[1:6], records[6:7], records[7:]):
        store.append_many(batch)
    hashes = [leaf_hash(r.canonical_bytes()) for r in records]
    for size in range(1, 14):
        assert store.root(size) == root(hashes[:size])
        for index in range(size):
            assert store.inclusion_proof(index, size) == inclusion_proof(hashes[:size], index)
        for size1 in range(1, size + 1):
            assert store.consistency_proof(size1, size) == consistency_proof(hashes[:size], size1)


def test_records_hold_canonical_bytes_and_their_evidence(store, at):
    body = SealedBody("MN/GOV/GASR", b"n" * 12, b"ciphertext")
    store.append_many([AuditEntry(_record(at, 0), signature=b"sig-0", body=body),
                       _record(at, 1, subjects=("s-b", "s-a"))])
    first, second = store.records()
    assert first.leaf == _record(at, 0).canonical_bytes()
    assert (first.signature, second.signature) == (b"sig-0", None)
    assert store.body(0) == ("MN/GOV/GASR", b"n" * 12, b"ciphertext")
    assert store.body(1) is None
    assert json.loads(second.leaf)["subjects"] == ["s-a", "s-b"]


def test_empty_store_verifies(store):
    assert check_integrity(store) == 0
    assert store.size() == 0


def test_reopened_store_continues_index_and_tree(db_url, at):
    first = SqlAuditStore(db_url)
    assert [first.append(_record(at, i)) for i in range(3)] == [0, 1, 2]
    first.close()

    second = SqlAuditStore(db_url)
    try:
        assert second.append(_record(at, 3)) == 3
        assert check_integrity(second) == 4
        assert second.root(4) == root([leaf_hash(_record(at, i).canonical_bytes())
                                       for i in range(4)])
    finally:
        second.close()


@pytest.mark.parametrize("statement", [
    pytest.param("UPDATE audit_log SET leaf = :leaf WHERE idx = 1", id="update"),
    pytest.param("DELETE FROM audit_log WHERE idx = 1", id="delete"),
    pytest.param("DELETE FROM audit_log", id="delete-all"),
    pytest.param("UPDATE audit_node SET hash = :leaf WHERE idx = 0", id="update-node"),
    pytest.param("DELETE FROM audit_node", id="delete-nodes"),
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
    assert check_integrity(store) == 3


@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET leaf = x'00' WHERE idx = 0",
    "UPDATE audit_node SET hash = x'00'",
    "DELETE FROM audit_log WHERE idx = 2",
    "DELETE FROM audit_signature",
    "DELETE FROM audit_meta",
])
def test_raw_sqlite_update_and_delete_are_refused(tmp_path, at, statement):
    store = SqlAuditStore(f"sqlite:///{tmp_path}/a.db")
    for i in range(3):
        store.append(AuditEntry(_record(at, i), signature=b"s"))
    conn = sqlite3.connect(tmp_path / "a.db")
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(statement)
    finally:
        conn.close()
    assert check_integrity(store) == 3
    store.close()


def _forge_leaf(conn, idx, record):
    conn.execute("UPDATE audit_log SET leaf = ? WHERE idx = ?", (record.canonical_bytes(), idx))


def _forge_leaf_and_node(conn, idx, record):
    leaf = record.canonical_bytes()
    conn.execute("UPDATE audit_log SET leaf = ? WHERE idx = ?", (leaf, idx))
    conn.execute("UPDATE audit_node SET hash = ? WHERE level = 0 AND idx = ?",
                 (leaf_hash(leaf), idx))


# How an attacker with write access (triggers dropped) edits a copy; the index that breaks.
TAMPERING = {
    "leaf-changed": (lambda c, at: _forge_leaf(c, 1, _record(at, 1, outcome="denied")), 1),
    "first-leaf-changed": (lambda c, at: _forge_leaf(c, 0, _record(at, 0, user_id="x")), 0),
    "last-leaf-changed": (lambda c, at: _forge_leaf(c, 3, _record(at, 3, client="x")), 3),
    "leaf-and-its-node-rewritten": (
        lambda c, at: _forge_leaf_and_node(c, 3, _record(at, 3, outcome="denied")), 2),
    "node-changed": (
        lambda c, at: c.execute("UPDATE audit_node SET hash = ? WHERE level = 1 AND idx = 1",
                                (bytes(32),)), 2),
    "middle-entry-deleted": (lambda c, at: c.execute("DELETE FROM audit_log WHERE idx = 1"), 1),
    "first-entry-deleted": (lambda c, at: c.execute("DELETE FROM audit_log WHERE idx = 0"), 0),
    "log-truncated": (lambda c, at: c.execute("DELETE FROM audit_log WHERE idx >= 2"), 2),
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
    for table in ("audit_log", "audit_node"):
        dst.executescript(f"DROP TRIGGER {table}_no_update; DROP TRIGGER {table}_no_delete;")
    tamper(dst, at)
    dst.commit()
    dst.close()

    copy = SqlAuditStore(f"sqlite:///{tmp_path}/copy.db")
    try:
        with pytest.raises(TamperedLog, match=f"index {broken_at}"):
            check_integrity(copy)
    finally:
        copy.close()
    assert check_integrity(original) == 4
    original.close()


def test_a_checkpoint_that_does_not_match_the_records_is_named(tmp_path, at):
    store = SqlAuditStore(f"sqlite:///{tmp_path}/a.db")
    for i in range(3):
        store.append(_record(at, i))
    forged_root = "A" * 43 + "="
    store.add_checkpoint(2, f"log\n2\n{forged_root}\n\n— k x\n".encode(), at)
    with pytest.raises(TamperedLog, match="checkpoint of size 2"):
        check_integrity(store)
    store.close()


def test_two_writers_sharing_a_database_continue_one_tree(db_url, at):
    """Cluster nodes (or a second process) append to one log: each batch starts at the log's
    real end, so indexes stay contiguous and the tree never forks."""
    first, second = SqlAuditStore(db_url), SqlAuditStore(db_url)
    try:
        assert first.append(_record(at, 0)) == 0
        assert second.append(_record(at, 1)) == 1  # knew nothing of index 0 when it opened
        assert first.append_many([_record(at, 2), _record(at, 3)]) == [2, 3]
        assert second.append(_record(at, 4)) == 4
        assert check_integrity(first) == 5
        hashes = [leaf_hash(_record(at, i).canonical_bytes()) for i in range(5)]
        assert first.root(5) == second.root(5) == root(hashes)
    finally:
        first.close()
        second.close()


def test_cluster_nodes_appending_at_once_on_postgresql(at):
    admin, name, url = _postgres_url()
    nodes = [SqlAuditStore(url) for _ in range(3)]
    try:
        def node_writes(node):
            return [i for n in range(20) for i in node.append_many(
                [_record(at, 100 * n + k) for k in range(3)])]

        with ThreadPoolExecutor(3) as pool:
            written = [i for indexes in pool.map(node_writes, nodes) for i in indexes]
        assert sorted(written) == list(range(180))
        assert check_integrity(nodes[0]) == 180
    finally:
        for node in nodes:
            node.close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_hash_chained_log_of_the_foundation_is_refused_clearly(tmp_path):
    with sqlite3.connect(tmp_path / "old.db") as conn:
        conn.execute("CREATE TABLE audit_log (idx INTEGER PRIMARY KEY, leaf BLOB, entry_hash BLOB)")
    with pytest.raises(LoggingFailed, match="earlier version"):
        SqlAuditStore(f"sqlite:///{tmp_path}/old.db")


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


def test_leaf_hash_follows_rfc_6962_prefix():
    assert leaf_hash(b"leaf") == hashlib.sha256(b"\x00leaf").digest()
