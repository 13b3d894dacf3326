"""The provider's audit database unavailable (its write lock held by another process): the
client gets a clear `LoggingFailed` fault, nothing is delivered or half-recorded, the logs
still verify, and exchanges resume as soon as the database is writable again (issue 10,
"Dependencies down").
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e.demo import start_demo
from tests.reliability.support import (
    CONSUMER,
    PERSON_PATH,
    PORTAL,
    PROVIDER,
    audit_store,
    check_log,
    exchange_records,
    kinds_recorded,
    wait_until,
)

pytestmark = pytest.mark.e2e

FAULT = "Server.ServerProxy.LoggingFailed"


def test_an_unwritable_audit_database_stops_exchanges_cleanly(tmp_path: Path) -> None:
    demo = start_demo(tmp_path / "var")
    locker: sqlite3.Connection | None = None
    try:
        url = demo.server(CONSUMER)["client_url"] + PERSON_PATH

        def ask(message_id: str) -> httpx.Response:
            return httpx.get(url, timeout=60,
                             headers={"X-Road-Client": PORTAL, "X-Road-Id": message_id})

        before = f"db-before-{uuid.uuid4()}"
        assert ask(before).status_code == 200

        # Another process takes the write lock (WAL: readers go on, writers wait, then fail).
        locker = sqlite3.connect(demo.server_dir(PROVIDER) / "audit.db", timeout=10,
                                 isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")
        refused = [f"db-down-{n}-{uuid.uuid4()}" for n in range(2)]
        for message_id in refused:
            started = time.monotonic()
            reply = ask(message_id)
            assert reply.status_code == 500, reply.text
            assert reply.headers["X-Road-Error"] == FAULT
            assert "audit record could not be written" in reply.json()["message"]
            assert reply.json()["detail"] in demo.log("ss-" + PROVIDER.replace("/", "_"))
            assert "Traceback" not in reply.text
            assert time.monotonic() - started < 30  # a bounded wait, not a hung worker
        locker.rollback()
        locker.close()
        locker = None

        after: list[str] = []

        def one_succeeds() -> bool:
            after.append(f"db-after-{uuid.uuid4()}")
            return ask(after[-1]).status_code == 200
        wait_until(one_succeeds, 30, "no exchange succeeds once the database is back",
                   interval_s=0.5)

        with audit_store(demo, CONSUMER) as consumer, audit_store(demo, PROVIDER) as provider:
            check_log(demo, CONSUMER, consumer)
            check_log(demo, PROVIDER, provider)
            for message_id in (before, after[-1]):
                for store in (consumer, provider):
                    records = exchange_records(store, message_id)
                    assert {r.fields["outcome"] for r in records.values()} == {"ok"}
            for message_id in refused:
                # Nothing of the refused exchanges on the provider: no half-written record.
                assert kinds_recorded(provider, message_id) == []
                on_consumer = exchange_records(consumer, message_id)
                assert on_consumer["request"].fields["outcome"] == "ok"
                assert on_consumer["response"].fields["outcome"] == FAULT
    finally:
        if locker is not None:
            locker.close()
        demo.stop()
