"""Group commit: concurrent appends share transactions, indexes stay contiguous and ordered."""

import asyncio
import sqlite3
from datetime import UTC, datetime

import pytest

from audit.group_commit import GroupCommitter
from audit.integrity import check_integrity
from audit.record import AuditRecord
from audit.store import SqlAuditStore
from xroad.errors import LoggingFailed


def record(i: int) -> AuditRecord:
    return AuditRecord(at=datetime(2026, 1, 1, tzinfo=UTC), security_server="MN/GOV/GASR/ss1",
                       kind="request", message_id=f"m-{i}", request_id=f"r-{i}",
                       client="MN/GOV/EMONGOLIA/portal",
                       service="MN/GOV/GASR/civil-registry/persons", user_id=None, issue=None,
                       represented_party=None, message_digest=None, signature_digest=None,
                       signer_cert_sha256=None, outcome="ok")


class CountingStore:
    def __init__(self, inner):
        self.inner, self.batches = inner, []

    def append(self, r):
        return self.append_many([r])[0]

    def append_many(self, records):
        self.batches.append(len(records))
        return self.inner.append_many(records)


def test_concurrent_appends_are_batched_and_durable(tmp_path):
    store = CountingStore(SqlAuditStore(f"sqlite:///{tmp_path}/a.db"))
    committer = GroupCommitter(store)

    async def run():
        return await asyncio.gather(*(committer.append(record(i)) for i in range(200)))

    indexes = asyncio.run(run())
    assert sorted(indexes) == list(range(200))
    assert len(store.batches) < 200  # later records waited for the first commit and shared one
    assert sum(store.batches) == 200
    assert check_integrity(store.inner) == 200
    reopened = SqlAuditStore(f"sqlite:///{tmp_path}/a.db")
    assert check_integrity(reopened) == 200


class FailingStore:
    def append(self, r):
        raise AssertionError

    def append_many(self, records):
        raise OSError("disk full")


def test_a_failed_commit_fails_every_waiter_with_logging_failed():
    committer = GroupCommitter(FailingStore())

    async def run():
        return await asyncio.gather(*(committer.append(record(i)) for i in range(5)),
                                    return_exceptions=True)

    results = asyncio.run(run())
    assert all(isinstance(r, LoggingFailed) for r in results)


def test_append_many_is_all_or_nothing(tmp_path):
    store = SqlAuditStore(f"sqlite:///{tmp_path}/a.db")
    store.append_many([record(0), record(1), record(2)])
    with sqlite3.connect(tmp_path / "a.db") as conn:  # another writer took index 3
        conn.execute("INSERT INTO audit_node VALUES (0, 3, x'00')")
    with pytest.raises(LoggingFailed):
        store.append_many([record(3), record(4)])
    with sqlite3.connect(tmp_path / "a.db") as conn:
        assert conn.execute("SELECT max(idx), count(*) FROM audit_log").fetchone() == (2, 3)
