"""`kill -9` of a security server under load: every exchange whose response reached the client
has its request and response records on both servers after the restart, the logs verify, and
the restarted server works and seals a checkpoint over everything (issues 6 and 10)."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.demo import RunningDemo, start_demo
from tests.reliability.support import (
    CONSUMER,
    PROVIDER,
    ask,
    audit_store,
    check_log,
    exchange_records,
    kinds_recorded,
    seal,
    verify_sealed,
    wait_until,
)
from xroad.demo.supervisor import Supervisor

pytestmark = pytest.mark.e2e

WORKERS = 16  # concurrent clients
PER_WORKER = 150  # at most this many requests each: the load is bounded whatever happens
KILL_AFTER = 160  # delivered exchanges before the kill (ten per client)
AFTER_RESTART = 8  # exchanges through the restarted server


@dataclass
class Attempt:
    message_id: str
    started: float
    finished: float = 0.0
    status: int | None = None  # None: no HTTP answer (connection refused or cut)
    request_id: str | None = None  # X-Road-Request-Id of the answer
    fault: str | None = None  # X-Road-Error of the answer


class Load:
    """`WORKERS` clients, each with its own connection, asking one after another."""

    def __init__(self, demo: RunningDemo, tag: str) -> None:
        self._demo, self._tag = demo, tag
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.attempts: list[Attempt] = []
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True)
                         for n in range(WORKERS)]
        self._killed_at = float("inf")

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            if thread.ident is not None:  # started
                thread.join(60)
        assert not any(t.is_alive() for t in self._threads), "a client hung"

    def delivered(self) -> int:
        with self._lock:
            return sum(a.status == 200 for a in self.attempts)

    def killed(self, moment: float) -> None:
        """From now on each client stops after one request sent after `moment`."""
        self._killed_at = moment

    def past_the_kill(self) -> bool:
        """Every client has had an answer (or an error) to a request sent after the kill."""
        return all(not t.is_alive() for t in self._threads)

    def _run(self, worker: int) -> None:
        with httpx.Client(timeout=20) as http:
            for n in range(PER_WORKER):
                if self._stop.is_set():
                    break
                attempt = Attempt(f"crash-{self._tag}-{worker}-{n}-{uuid.uuid4()}",
                                  time.monotonic())
                try:
                    reply = ask(http, self._demo, attempt.message_id)
                    attempt.status = reply.status_code
                    attempt.request_id = reply.headers.get("X-Road-Request-Id")
                    attempt.fault = reply.headers.get("X-Road-Error")
                except httpx.HTTPError:
                    pass
                attempt.finished = time.monotonic()
                with self._lock:
                    self.attempts.append(attempt)
                if attempt.started > self._killed_at:
                    break


def _gone(pid: int) -> bool:
    """Exited and reaped (the demo's supervisor reaps its children)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def process_name(server_id: str) -> str:
    return "ss-" + server_id.replace("/", "_")


def command_of(pid: int) -> tuple[list[str], dict[str, str]]:
    """The `xroad` arguments and XROAD_* settings a running server was started with (Linux
    /proc), so that it restarts exactly as the demo started it."""
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    args = [a.decode() for a in argv[argv.index(b"xroad.cli.main") + 1:] if a]
    env = {}
    for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
        key, _, value = item.decode().partition("=")
        if key.startswith("XROAD_"):
            env[key] = value
    return args, env


@pytest.mark.parametrize("victim", [PROVIDER, CONSUMER], ids=["provider", "consumer"])
def test_kill_9_under_load_loses_no_delivered_exchange(victim: str, tmp_path: Path) -> None:
    # Checkpoints every second: the kill may land while one is being signed too.
    demo = start_demo(tmp_path / "var", env={"XROAD_SS_AUDIT_CHECKPOINT_S": "1"})
    restarted = Supervisor(demo.data_dir / "logs")
    load = Load(demo, victim.split("/")[2].lower())
    try:
        name = process_name(victim)
        pid = demo.pid(name)
        args, env = command_of(pid)

        load.start()
        wait_until(lambda: load.delivered() >= KILL_AFTER, 60, "the load did not get going")
        os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        load.killed(killed_at)
        wait_until(lambda: _gone(pid), 10, f"{victim} outlived SIGKILL")
        wait_until(load.past_the_kill, 60, "the clients did not get past the kill")
        load.stop()

        delivered = [a for a in load.attempts if a.status == 200]
        before_kill = [a for a in delivered if a.finished < killed_at]
        assert len(before_kill) >= KILL_AFTER
        assert any(a.started < killed_at < a.finished for a in load.attempts)  # under load
        # The kill took: no request sent after it was answered.
        assert not [a for a in delivered if a.started > killed_at]
        assert len(delivered) < len(load.attempts)

        child = restarted.start(name, args, env)
        restarted.wait_healthy(child, demo.server(victim)["client_url"] + "/health")

        with audit_store(demo, CONSUMER) as consumer, audit_store(demo, PROVIDER) as provider:
            sizes = {CONSUMER: check_log(demo, CONSUMER, consumer),
                     PROVIDER: check_log(demo, PROVIDER, provider)}
            found = [(a.message_id, kinds_recorded(consumer, a.message_id),
                      kinds_recorded(provider, a.message_id)) for a in delivered]
            missing = [f for f in found if f[1:] != (["request", "response"],) * 2]
            assert not missing, (
                f"{len(missing)} of {len(delivered)} delivered exchanges lack records "
                f"(message id, kinds on the consumer, on the provider): {missing[:10]}")
            for attempt in delivered:
                on_consumer = exchange_records(consumer, attempt.message_id)
                on_provider = exchange_records(provider, attempt.message_id)
                for records in (on_consumer, on_provider):
                    for kind in ("request", "response"):
                        fields = records[kind].fields
                        assert fields["outcome"] == "ok", (attempt.message_id, fields)
                        assert fields["request_id"] == attempt.request_id
                # Both sides recorded the same bytes and signatures (`xroad audit reconcile`).
                for kind in ("request", "response"):
                    for key in ("message_digest", "signature_digest"):
                        assert (on_consumer[kind].fields[key]
                                == on_provider[kind].fields[key]), (attempt.message_id, kind)

            if victim == PROVIDER:  # the consumer lived: it answered and recorded every one
                for attempt in load.attempts:
                    assert attempt.status is not None, attempt
                    response = exchange_records(consumer, attempt.message_id)["response"]
                    assert response.fields["outcome"] == (attempt.fault or "ok"), attempt

        # The restarted server serves exchanges again, with the server that lived on.
        fresh: list[str] = []
        with httpx.Client(timeout=20) as http:
            def one_succeeds() -> bool:
                fresh.append(f"after-restart-{uuid.uuid4()}")
                return ask(http, demo, fresh[-1]).status_code == 200
            wait_until(one_succeeds, 30, "no exchange succeeds after the restart",
                       interval_s=0.5)
            for _ in range(AFTER_RESTART):
                fresh.append(f"after-restart-{uuid.uuid4()}")
                reply = ask(http, demo, fresh[-1])
                assert reply.status_code == 200, reply.text

        # Its next checkpoint covers every record, old and new, and verifies.
        sealed = verify_sealed(demo, victim, seal(demo, victim))
        with audit_store(demo, victim) as store:
            assert sealed.checkpoint.size == store.size() > sizes[victim]
            assert sealed.checkpoint.root == store.root(sealed.checkpoint.size)
            check_log(demo, victim, store)
        for server in (CONSUMER, PROVIDER):
            with audit_store(demo, server) as store:
                for message_id in fresh[-AFTER_RESTART:]:
                    records = exchange_records(store, message_id)
                    assert {r.fields["outcome"] for r in records.values()} == {"ok"}
    finally:
        try:
            load.stop()
            restarted.stop_all()
        finally:
            demo.stop()
