"""The durable replay cache: one use per client and message id, also across nodes."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from xroad.errors import ReplayedMessage
from xroad.proxy.replay_store import SqlReplayGuard

AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=10)


def outcomes(guard, items):
    async def one(client, message_id):
        try:
            await guard.remember(client, message_id, AT)
        except ReplayedMessage:
            return "replayed"
        return "new"

    async def run():
        return await asyncio.gather(*(one(c, m) for c, m in items))

    return asyncio.run(run())


def test_duplicates_in_one_batch_and_against_the_database(tmp_path):
    guard = SqlReplayGuard(f"sqlite:///{tmp_path}/r.db", WINDOW)
    first = outcomes(guard, [("A", "1"), ("A", "2"), ("B", "1"), ("A", "1")])
    assert first.count("new") == 3
    assert first.count("replayed") == 1
    assert outcomes(guard, [("A", "2"), ("C", "9")]) == ["replayed", "new"]


def test_another_node_on_the_same_database_sees_the_id(tmp_path):
    url = f"sqlite:///{tmp_path}/r.db"
    assert outcomes(SqlReplayGuard(url, WINDOW), [("A", "1")]) == ["new"]
    assert outcomes(SqlReplayGuard(url, WINDOW), [("A", "1")]) == ["replayed"]


def test_the_same_id_from_another_client_is_not_a_replay(tmp_path):
    guard = SqlReplayGuard(f"sqlite:///{tmp_path}/r.db", WINDOW)
    assert outcomes(guard, [("A", "x"), ("B", "x")]) == ["new", "new"]


@pytest.mark.parametrize("count", [1, 50])
def test_many_new_ids_are_all_accepted(tmp_path, count):
    guard = SqlReplayGuard(f"sqlite:///{tmp_path}/r.db", WINDOW)
    assert outcomes(guard, [("A", str(i)) for i in range(count)]) == ["new"] * count
