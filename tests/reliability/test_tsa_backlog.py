"""A TSA outage within the tolerance: exchanges go on, sealing fails, and when the TSA returns
the backlog is time-stamped by a checkpoint that every checkpoint of the outage is consistent
with (issue 6, "Bad input and faults")."""

from __future__ import annotations

import functools
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from audit.merkle import verify_consistency
from tests.e2e.demo import RunningDemo, start_demo
from tests.e2e.tsa import start_tsa, stop_process, stop_tsa
from tests.reliability.support import (
    CONSUMER,
    PROVIDER,
    ask,
    audit_store,
    check_log,
    exchange_records,
    seal,
    verify_checkpoint,
    verify_sealed,
    wait_until,
)

pytestmark = pytest.mark.e2e

SERVERS = (CONSUMER, PROVIDER)
ROUNDS = 3  # of exchanges during the outage, each covered by a checkpoint signed meanwhile
PER_ROUND = 5


def _checkpoint_covers_log(demo: RunningDemo, server_id: str) -> bool:
    with audit_store(demo, server_id) as store:
        latest = store.latest_checkpoint()
        return latest is not None and latest[0] == store.size()


def _sealed_covers(demo: RunningDemo, server_id: str, size: int) -> bool:
    """A time-stamped checkpoint covers the first `size` records."""
    with audit_store(demo, server_id) as store:
        sealed = store.latest_sealed()
        return sealed is not None and sealed[0] >= size


def test_backlog_is_time_stamped_when_the_tsa_returns(tmp_path: Path) -> None:
    demo = start_demo(tmp_path / "var", env={"XROAD_SS_TIMESTAMP_TOLERANCE_S": "3600",
                                             "XROAD_SS_AUDIT_CHECKPOINT_S": "0.5"})
    tsa: subprocess.Popen[bytes] | None = None
    try:
        with httpx.Client(timeout=30) as http:
            assert ask(http, demo, f"before-outage-{uuid.uuid4()}").status_code == 200
            before = {s: verify_sealed(demo, s, seal(demo, s)).checkpoint for s in SERVERS}

            stop_tsa(demo)
            during: list[str] = []
            for _ in range(ROUNDS):
                for _ in range(PER_ROUND):
                    during.append(f"tsa-outage-{uuid.uuid4()}")
                    reply = ask(http, demo, during[-1])
                    assert reply.status_code == 200, reply.text  # within the tolerance
                for server in SERVERS:  # the scheduler signs checkpoints it cannot stamp
                    wait_until(functools.partial(_checkpoint_covers_log, demo, server), 20,
                               f"{server} signed no checkpoint during the outage")

            outage: dict[str, list[bytes]] = {}
            for server in SERVERS:
                reply = seal(demo, server)
                assert reply.status_code == 503, reply.text
                assert reply.json()["type"] == "TimestampingFailed"
                health = httpx.get(demo.server(server)["client_url"] + "/health",
                                   timeout=10).json()
                assert health["status"] == "ok", health  # the tolerance has not run out
                with audit_store(demo, server) as store:
                    signed = [c for c in store.checkpoints() if c.size > before[server].size]
                    assert len(signed) >= ROUNDS, (server, [c.size for c in signed])
                    assert all(store.timestamp_of(c.size) is None for c in signed)
                    assert signed[-1].size == store.size()
                    outage[server] = [c.note for c in signed]

            returned_at = datetime.now(UTC)
            tsa = start_tsa(demo)
            for server in SERVERS:  # the backlog is stamped without anyone asking
                backlog = verify_checkpoint(demo, server, outage[server][-1]).size
                wait_until(functools.partial(_sealed_covers, demo, server, backlog), 30,
                           f"{server} did not time-stamp its backlog")

            for server in SERVERS:
                sealed = verify_sealed(demo, server, seal(demo, server))
                assert sealed.stamped_at >= returned_at - timedelta(seconds=2)
                with audit_store(demo, server) as store:
                    size = check_log(demo, server, store)
                    assert sealed.checkpoint.size == size
                    assert sealed.checkpoint.root == store.root(size)
                    for message_id in during:  # every record of the outage is covered
                        for record in exchange_records(store, message_id).values():
                            assert record.index < sealed.checkpoint.size
                    for note in outage[server]:
                        old = verify_checkpoint(demo, server, note)
                        verify_consistency(old.size, size, old.root, sealed.checkpoint.root,
                                           store.consistency_proof(old.size, size))
                    verify_consistency(before[server].size, size, before[server].root,
                                       sealed.checkpoint.root,
                                       store.consistency_proof(before[server].size, size))

            assert ask(http, demo, f"after-outage-{uuid.uuid4()}").status_code == 200
    finally:
        try:
            if tsa is not None:
                stop_process(tsa)
        finally:
            demo.stop()
