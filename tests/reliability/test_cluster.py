"""The provider security server as a cluster (issue 10): two nodes of MN/GOV/GASR/ss1 behind a
round-robin TCP load balancer, sharing one fresh PostgreSQL database. Exchanges reach both
nodes and land in one audit log with contiguous indexes that verifies; a message id one node
accepted is refused by the other; `kill -9` of a node under load loses no exchange that was
answered, and the other node keeps serving."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select

from audit import schema
from audit.store import SqlAuditStore
from tests.e2e.demo import RunningDemo, start_demo
from tests.reliability.cluster_support import (
    RoundRobinBalancer,
    fresh_database,
    provider_exchanges,
)
from tests.reliability.support import (
    CONSUMER,
    PROVIDER,
    ask,
    audit_store,
    check_log,
    exchange_records,
    verify_sealed,
    wait_until,
)

pytestmark = pytest.mark.e2e

WORKERS = 6  # concurrent clients: the consumer pools several connections, so both nodes serve
KILL_AFTER = 30  # exchanges delivered before node 1 is killed
AFTER_KILL = 30  # exchanges node 2 must deliver after the kill
SETTLE_S = 3.0  # after this, every request is answered by node 2


@dataclass
class Cluster:
    demo: RunningDemo
    balancer: RoundRobinBalancer
    database_url: str

    @property
    def nodes(self) -> list[dict[str, Any]]:
        nodes: list[dict[str, Any]] = self.demo.server(PROVIDER)["nodes"]
        return nodes

    def node_key(self, name: str) -> str:
        return (self.demo.server_dir(PROVIDER) / name).read_text().strip()

    def exchanges_on(self, node: int) -> float:
        return provider_exchanges(self.nodes[node]["admin_url"],
                                  self.node_key("observer-api-key"))

    def node_log(self, node: int) -> str:
        return self.demo.log(f"ss-{PROVIDER.replace('/', '_')}-{self.nodes[node]['name']}")

    def node_pid(self, node: int) -> int:
        return self.demo.pid(f"ss-{PROVIDER.replace('/', '_')}-{self.nodes[node]['name']}")

    def repin(self, node: int | None) -> None:
        """New connections go to `node` (None: round robin); open ones are cut."""
        self.balancer.pin(node)
        self.balancer.drop_connections()
        time.sleep(0.3)  # the consumer sees its pooled connections close before reusing them


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None, url
    return port


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with fresh_database() as url:
        demo = start_demo(tmp_path_factory.mktemp("cluster") / "var", env={
            "XROAD_DEMO_CLUSTERS": json.dumps({PROVIDER: {"nodes": 2, "database_url": url}}),
            "XROAD_SS_AUDIT_CHECKPOINT_S": "2"})  # both nodes sign and stamp checkpoints
        balancer = RoundRobinBalancer(_port(demo.server(PROVIDER)["server_url"]), [
            ("127.0.0.1", _port(n["server_url"])) for n in demo.server(PROVIDER)["nodes"]])
        try:
            balancer.start()
            yield Cluster(demo, balancer, url)
        finally:
            try:
                balancer.stop()
            finally:
                demo.stop()


def test_exchanges_through_the_balancer_reach_both_nodes_and_one_log(cluster: Cluster) -> None:
    nodes = cluster.nodes
    assert [n["name"] for n in nodes] == ["node1", "node2"]
    for index, node in enumerate(nodes):  # /health per node, saying which node answers
        health = httpx.get(node["client_url"] + "/health", timeout=10).json()
        assert health["status"] == "ok", health
        assert (health["server_id"], health["node"]) == (PROVIDER, f"node{index + 1}")

    ids = [f"cluster-{uuid.uuid4()}" for _ in range(12)]
    replies: dict[str, int] = {}

    def send(batch: list[str]) -> None:
        with httpx.Client(timeout=30) as http:
            for message_id in batch:
                replies[message_id] = ask(http, cluster.demo, message_id).status_code

    for start in range(0, len(ids), 4):  # rounds of four at once, new connections each round
        threads = [threading.Thread(target=send, args=([m],)) for m in ids[start:start + 4]]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        cluster.repin(None)
    assert replies == dict.fromkeys(ids, 200)

    on_nodes = [cluster.exchanges_on(0), cluster.exchanges_on(1)]
    assert min(on_nodes) > 0, f"exchanges by node: {on_nodes}"
    assert sum(on_nodes) == len(ids)
    assert all(cluster.balancer.connections[i] > 0 for i in (0, 1))

    provider = SqlAuditStore(cluster.database_url)
    try:
        with provider.engine.connect() as conn:
            indexes = [int(i) for i in conn.execute(
                select(schema.log.c.idx).order_by(schema.log.c.idx)).scalars()]
        assert indexes == list(range(len(indexes)))
        assert check_log(cluster.demo, PROVIDER, provider) == len(indexes) >= 2 * len(ids)
        for message_id in ids:
            exchange_records(provider, message_id)  # one request and one response each
    finally:
        provider.close()


def test_a_message_id_one_node_accepted_is_refused_by_the_other(cluster: Cluster) -> None:
    message_id = f"replay-{uuid.uuid4()}"
    with httpx.Client(timeout=30) as http:
        cluster.repin(0)
        before = cluster.exchanges_on(0)
        first = ask(http, cluster.demo, message_id)
        assert first.status_code == 200, first.text
        assert cluster.exchanges_on(0) == before + 1

        cluster.repin(1)
        again = ask(http, cluster.demo, message_id)
        assert again.status_code != 200
        assert "ReplayedMessage" in again.headers.get("X-Road-Error", ""), again.text
        refusal = [line for line in cluster.node_log(1).splitlines() if message_id in line]
        assert any("ReplayedMessage" in line for line in refusal), refusal

        fresh = ask(http, cluster.demo, f"replay-fresh-{uuid.uuid4()}")  # node 2 serves
        assert fresh.status_code == 200, fresh.text
    cluster.repin(None)


@dataclass
class Attempt:
    message_id: str
    started: float
    status: int | None = None  # None: no HTTP answer
    request_id: str | None = None


def _load(cluster: Cluster, attempts: list[Attempt], stop: threading.Event) -> None:
    with httpx.Client(timeout=30) as http:
        while not stop.is_set():
            attempt = Attempt(f"kill-{uuid.uuid4()}", time.monotonic())
            try:
                reply = ask(http, cluster.demo, attempt.message_id)
                attempt.status = reply.status_code
                attempt.request_id = reply.headers.get("X-Road-Request-Id")
            except httpx.HTTPError:
                pass
            attempts.append(attempt)


def test_kill_9_of_a_node_under_load_loses_nothing_and_the_other_serves(
        cluster: Cluster) -> None:
    attempts: list[Attempt] = []
    stop = threading.Event()
    workers = [threading.Thread(target=_load, args=(cluster, attempts, stop), daemon=True)
               for _ in range(WORKERS)]
    victim = cluster.node_pid(0)
    on_node2 = cluster.exchanges_on(1)
    for worker in workers:
        worker.start()
    try:
        wait_until(lambda: sum(a.status == 200 for a in attempts) >= KILL_AFTER, 60,
                   "the load did not get going")
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        wait_until(lambda: sum(a.status == 200 and a.started > killed_at + SETTLE_S
                               for a in attempts) >= AFTER_KILL, 90,
                   "node 2 did not keep serving after node 1 was killed")
    finally:
        stop.set()
        for worker in workers:
            worker.join(60)
    assert not any(w.is_alive() for w in workers), "a client hung"

    delivered = [a for a in attempts if a.status == 200]
    assert sum(a.started < killed_at for a in delivered) >= KILL_AFTER
    settled = [a for a in attempts if a.started > killed_at + SETTLE_S]
    assert [a for a in settled if a.status != 200] == [], "node 2 refused work after the kill"
    assert cluster.exchanges_on(1) > on_node2
    health = httpx.get(cluster.nodes[1]["client_url"] + "/health", timeout=10).json()
    assert (health["status"], health["node"]) == ("ok", "node2")
    with pytest.raises(httpx.HTTPError):
        httpx.get(cluster.nodes[0]["client_url"] + "/health", timeout=5)

    # Every answered exchange is on record on both sides, with the same digests.
    provider = SqlAuditStore(cluster.database_url)
    try:
        with audit_store(cluster.demo, CONSUMER) as consumer:
            for attempt in delivered:
                on_consumer = exchange_records(consumer, attempt.message_id)
                on_provider = exchange_records(provider, attempt.message_id)
                for records in (on_consumer, on_provider):
                    for kind in ("request", "response"):
                        assert records[kind].fields["outcome"] == "ok", attempt
                        assert records[kind].fields["request_id"] == attempt.request_id
                for kind in ("request", "response"):
                    for key in ("message_digest", "signature_digest"):
                        assert (on_consumer[kind].fields[key]
                                == on_provider[kind].fields[key]), (attempt.message_id, kind)
        size = check_log(cluster.demo, PROVIDER, provider)  # contiguous, and it verifies

        # The surviving node seals a checkpoint over everything, both nodes' records included.
        reply = httpx.post(cluster.nodes[1]["admin_url"] + "/api/v1/audit/seal", timeout=60,
                           headers={"Authorization": "X-Road-ApiKey token="
                                                     + cluster.node_key("admin-api-key")})
        sealed = verify_sealed(cluster.demo, PROVIDER, reply)
        assert sealed.checkpoint.size >= size
        assert sealed.checkpoint.root == provider.root(sealed.checkpoint.size)
        check_log(cluster.demo, PROVIDER, provider)
    finally:
        provider.close()


def test_a_node_refuses_another_servers_log(cluster: Cluster, tmp_path: Path) -> None:
    """A database URL shared by two different security servers (set machine-wide, say) would
    mix their logs: the consumer's server refuses to start on the provider's database."""
    consumer_dir = cluster.demo.server_dir(CONSUMER)
    env = {**os.environ, "XROAD_SS_SERVER_ID": CONSUMER, "XROAD_SS_DATA_DIR": str(consumer_dir),
           "XROAD_SS_ANCHOR_PATH": str(cluster.demo.data_dir / "central" / "anchor.json"),
           "XROAD_SS_TOKEN_PIN": "demo-token-pin", "XROAD_DATABASE_URL": cluster.database_url,
           "XROAD_SS_NODE_NAME": "stray", "XROAD_SS_CLIENT_PORT": "0",
           "XROAD_SS_SERVER_PORT": "0"}
    done = subprocess.run([sys.executable, "-m", "xroad.cli.main", "serve", "security-server"],
                          env=env, capture_output=True, timeout=120, check=False,
                          cwd=tmp_path)
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert b"holds the log of security server MN/GOV/GASR/ss1" in done.stdout + done.stderr
