"""Checkpoints over the stored audit log: signed, growing with the log, append-only."""

import hashlib
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from audit.checkpoint import verify
from audit.checkpointer import Checkpointer, TimestampGuard, key_name
from audit.merkle import consistency_proof, leaf_hash, root, verify_consistency
from audit.record import AuditRecord
from audit.store import SqlAuditStore
from xroad.clock import FixedClock
from xroad.errors import LoggingFailed, TimestampingFailed, TransportError

KEY = ed25519.Ed25519PrivateKey.from_private_bytes(b"\x07" * 32)
NAME = key_name("MN/GOV/GASR/ss1")


def record(i):
    return AuditRecord(at=datetime(2026, 1, 1, tzinfo=UTC), security_server="MN/GOV/GASR/ss1",
                       kind="request", message_id=f"m-{i}", request_id=f"r-{i}",
                       client="MN/GOV/EMONGOLIA/portal",
                       service="MN/GOV/GASR/civil-registry/persons", user_id=None, issue=None,
                       represented_party=None, message_digest=None, signature_digest=None,
                       signer_cert_sha256=None, outcome="ok")


def test_checkpoints_cover_the_log_and_are_consistent(tmp_path):
    store = SqlAuditStore(f"sqlite:///{tmp_path}/a.db")
    checkpointer = Checkpointer(store, "MN/GOV/GASR/ss1 audit log", NAME, KEY,
                                FixedClock(datetime(2026, 1, 1, tzinfo=UTC)))
    store.append_many([record(i) for i in range(5)])
    first = verify(checkpointer.checkpoint(), NAME, KEY.public_key())
    assert first.size == 5
    assert checkpointer.checkpoint() == store.latest_checkpoint()[1]  # unchanged log: same
    store.append_many([record(i) for i in range(5, 12)])
    second = verify(checkpointer.checkpoint(), NAME, KEY.public_key())
    leaves = [leaf_hash(r.leaf) for r in store.records()]
    assert second.size == 12
    assert second.root == root(leaves)
    verify_consistency(first.size, second.size, first.root, second.root,
                       consistency_proof(leaves, first.size))


def test_checkpoints_are_append_only(tmp_path):
    store = SqlAuditStore(f"sqlite:///{tmp_path}/a.db")
    store.append(record(0))
    Checkpointer(store, "log", NAME, KEY, FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
                 ).checkpoint()
    with sqlite3.connect(tmp_path / "a.db") as conn, pytest.raises(sqlite3.DatabaseError,
                                                                   match="append-only"):
        conn.execute("DELETE FROM audit_checkpoint")


def test_seal_stamps_each_checkpoint_once_and_a_tsa_failure_stamps_nothing(tmp_path):
    store = SqlAuditStore(f"sqlite:///{tmp_path}/a.db")
    checkpointer = Checkpointer(store, "log", NAME, KEY,
                                FixedClock(datetime(2026, 1, 1, tzinfo=UTC)))
    store.append(record(0))
    asked = []

    def stamp(digest):
        asked.append(digest)
        return b"token-" + digest[:4]

    note, token = checkpointer.seal(stamp)
    assert asked == [hashlib.sha512(note).digest()]
    assert token == b"token-" + asked[0][:4]
    assert checkpointer.seal(stamp) == (note, token)  # same log: no second stamp
    assert len(asked) == 1

    store.append(record(1))

    def down(_digest):
        raise TransportError("TSA unreachable")

    with pytest.raises(TransportError):
        checkpointer.seal(down)
    assert store.timestamp_of(2) is None
    assert checkpointer.seal(stamp)[1] == store.timestamp_of(2)


def test_timestamp_guard_refuses_only_after_the_tolerance():
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    guard = TimestampGuard(timedelta(hours=4), clock)
    guard.check()  # nothing known yet: no reason to refuse
    guard.succeeded()
    clock.advance(timedelta(hours=1))
    guard.failed("TSA unreachable")
    clock.advance(timedelta(hours=2, minutes=59))
    guard.check()  # 3 h 59 min since the last stamp: still within tolerance
    clock.advance(timedelta(minutes=2))
    with pytest.raises(TimestampingFailed, match="TSA unreachable"):
        guard.check()
    guard.succeeded()
    guard.check()  # the TSA answered again: exchanges resume


def test_concurrent_seals_store_one_checkpoint_and_one_time_stamp(tmp_path):
    store = SqlAuditStore(f"sqlite:///{tmp_path}/a.db")
    checkpointer = Checkpointer(store, "log", NAME, KEY,
                                FixedClock(datetime(2026, 1, 1, tzinfo=UTC)))
    store.append(record(0))
    start = threading.Barrier(4)

    def stamp(digest):
        time.sleep(0.01)
        return b"token-" + digest[:4]

    def seal():
        start.wait()
        return checkpointer.seal(stamp)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: seal(), range(4)))
    assert len(set(results)) == 1
    assert [c.size for c in store.checkpoints()] == [1]


def test_a_second_writer_storing_the_same_checkpoint_is_fine_a_different_one_is_a_fork(
        tmp_path):
    store = SqlAuditStore(f"sqlite:///{tmp_path}/a.db")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    store.add_checkpoint(1, b"note", at)
    store.add_checkpoint(1, b"note", at)
    with pytest.raises(LoggingFailed, match="forked"):
        store.add_checkpoint(1, b"other note", at)
    assert store.add_timestamp(1, b"first", at) == b"first"
    assert store.add_timestamp(1, b"second", at) == b"first"
