"""Load: 10,000 REST exchanges at concurrency 64 through both security servers, then both
audit logs hold every one of them and reconcile with no discrepancy (issue 10, "Load").

The clients keep their connections alive (64 pooled connections, aiohttp: the lightest
client on a 2-core machine that also runs both servers and the registry). The whole run is
bounded: a deadline stops it, and the test fails, if the bus falls far below its usual pace.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from audit.reconcile import reconcile
from tests.e2e.demo import audit_records, start_demo
from tests.reliability.support import (
    CONSUMER,
    PERSON_PATH,
    PORTAL,
    PROVIDER,
    audit_store,
    check_log,
    seal,
    verify_sealed,
)

pytestmark = pytest.mark.e2e

EXCHANGES = 10_000
CONCURRENCY = 64
DEADLINE_S = 240.0  # this machine does ~150-250 exchanges/s: about a minute is usual


@dataclass(frozen=True)
class Answer:
    message_id: str
    status: int
    request_id: str | None
    fault: str | None


async def _drive(url: str) -> list[Answer]:
    """`CONCURRENCY` clients take the next message number until `EXCHANGES` are sent."""
    numbers = iter(range(EXCHANGES))
    answers: list[Answer] = []
    connector = aiohttp.TCPConnector(limit=CONCURRENCY, keepalive_timeout=60)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        async def client() -> None:
            for n in numbers:
                message_id = f"load-{n}"
                async with session.get(url, headers={"X-Road-Client": PORTAL,
                                                     "X-Road-Id": message_id}) as reply:
                    await reply.read()
                    answers.append(Answer(message_id, reply.status,
                                          reply.headers.get("X-Road-Request-Id"),
                                          reply.headers.get("X-Road-Error")))
        async with asyncio.timeout(DEADLINE_S):
            await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    return answers


def _by_message(records: list[dict[str, object]]) -> dict[str, dict[str, dict[str, object]]]:
    """The load's records on one server: message id -> kind -> decoded leaf."""
    found: dict[str, dict[str, dict[str, object]]] = {}
    for record in records:
        if str(record["message_id"]).startswith("load-"):
            kinds = found.setdefault(str(record["message_id"]), {})
            assert record["kind"] not in kinds, ("recorded twice", record)
            kinds[str(record["kind"])] = record
    return found


def test_ten_thousand_exchanges_lose_no_audit_record(tmp_path: Path) -> None:
    demo = start_demo(tmp_path / "var")
    try:
        started = time.monotonic()
        answers = asyncio.run(_drive(demo.server(CONSUMER)["client_url"] + PERSON_PATH))
        took = time.monotonic() - started
        assert len(answers) == EXCHANGES
        failed = [a for a in answers if a.status != 200]
        assert not failed, f"{len(failed)} failed, e.g. {failed[:5]}"
        print(f"{EXCHANGES} exchanges at concurrency {CONCURRENCY} in {took:.1f} s "
              f"({EXCHANGES / took:.0f}/s)")

        request_ids = {a.message_id: a.request_id for a in answers}
        logs = {server_id: audit_records(demo, server_id) for server_id in (CONSUMER, PROVIDER)}
        for server_id, records in logs.items():
            found = _by_message(records)
            assert set(found) == set(request_ids), (
                f"{server_id}: {len(set(request_ids) - set(found))} exchanges missing")
            for message_id, kinds in found.items():
                assert set(kinds) == {"request", "response"}, (server_id, message_id, kinds)
                for record in kinds.values():
                    assert record["outcome"] == "ok", (server_id, record)
                    assert record["request_id"] == request_ids[message_id]

        # Both sides recorded the same bytes and signatures: `xroad audit reconcile`'s check.
        discrepancies = reconcile(*([(int(str(r["idx"])), r) for r in logs[server_id]]
                                    for server_id in (CONSUMER, PROVIDER)))
        assert not discrepancies, [str(d) for d in discrepancies[:10]]
        print(f"records checked and reconciled in {time.monotonic() - started - took:.1f} s")

        # The logs verify, and a checkpoint sealed now covers every record.
        for server_id in (CONSUMER, PROVIDER):
            with audit_store(demo, server_id) as store:
                size = check_log(demo, server_id, store)
                assert size >= 2 * EXCHANGES
            sealed = verify_sealed(demo, server_id, seal(demo, server_id))
            assert sealed.checkpoint.size >= size
        print(f"logs verified and sealed after {time.monotonic() - started - took:.1f} s")
    finally:
        demo.stop()
