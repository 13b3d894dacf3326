"""What lets nodes of one security server share a database and a data directory: settings
precedence, node-local files, the start-time checks and the advisory locks (issue 10)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from pydantic import ValidationError

from audit.checkpointer import key_name
from audit.record import AuditRecord
from audit.store import SqlAuditStore
from tests.reliability.cluster_support import fresh_database
from xroad.clock import FixedClock
from xroad.demo.cluster import DemoCluster, node_processes, plan_clusters
from xroad.demo.topology import DEFAULT_PORTS, servers
from xroad.proxy.cluster import (
    CHECKPOINT_LOCK,
    ClusterCheckpointer,
    ClusterMisconfigured,
    DatabaseLock,
    check_shared_log,
    first_start_lock,
    write_if_changed,
)
from xroad.settings import CentralServerSettings, SecurityServerSettings

SERVER = "MN/GOV/GASR/ss1"
AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str
              ) -> SecurityServerSettings:
    for name in ("XROAD_DATABASE_URL", "XROAD_SS_DATABASE_URL", "XROAD_SS_AUDIT_DATABASE_URL",
                 "XROAD_SS_REPLAY_DATABASE_URL", "XROAD_SS_NODE_NAME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {"XROAD_SS_SERVER_ID": SERVER, "XROAD_SS_DATA_DIR": str(tmp_path),
                        "XROAD_SS_ANCHOR_PATH": str(tmp_path / "anchor.json"),
                        "XROAD_SS_TOKEN_PIN": "pin", **env}.items():
        monkeypatch.setenv(name, value)
    return SecurityServerSettings()  # type: ignore[call-arg]


def test_one_database_url_for_audit_and_replay_the_specific_ones_first(monkeypatch, tmp_path):
    plain = _settings(monkeypatch, tmp_path)
    assert plain.audit_url() == f"sqlite:///{tmp_path / 'audit.db'}"
    assert plain.replay_url() == f"sqlite:///{tmp_path / 'replay.db'}"
    assert plain.node_dir() == tmp_path

    shared = _settings(monkeypatch, tmp_path, XROAD_DATABASE_URL="postgresql://h/shared")
    assert shared.audit_url() == shared.replay_url() == "postgresql://h/shared"

    own = _settings(monkeypatch, tmp_path, XROAD_DATABASE_URL="postgresql://h/shared",
                    XROAD_SS_DATABASE_URL="postgresql://h/ss",
                    XROAD_SS_REPLAY_DATABASE_URL="postgresql://h/replay")
    assert (own.audit_url(), own.replay_url()) == ("postgresql://h/ss", "postgresql://h/replay")


def test_the_central_server_takes_the_same_variable(monkeypatch, tmp_path):
    monkeypatch.delenv("XROAD_CS_DATABASE_URL", raising=False)
    monkeypatch.setenv("XROAD_DATABASE_URL", "postgresql://h/central")
    settings = CentralServerSettings(instance="MN", data_dir=tmp_path, token_pin="pin")
    assert settings.db_url() == "postgresql://h/central"
    monkeypatch.setenv("XROAD_CS_DATABASE_URL", "postgresql://h/own")
    own = CentralServerSettings(instance="MN", data_dir=tmp_path, token_pin="pin")
    assert own.db_url() == "postgresql://h/own"


def test_a_named_node_keeps_its_own_files_and_needs_the_shared_database(monkeypatch, tmp_path):
    node = _settings(monkeypatch, tmp_path, XROAD_SS_NODE_NAME="node2",
                     XROAD_DATABASE_URL="postgresql+psycopg://h/db")
    assert node.node_dir() == tmp_path / "nodes" / "node2"
    with pytest.raises(ValidationError, match="share one PostgreSQL database"):
        _settings(monkeypatch, tmp_path, XROAD_SS_NODE_NAME="node2")
    with pytest.raises(ValidationError):
        _settings(monkeypatch, tmp_path, XROAD_SS_NODE_NAME="../elsewhere",
                  XROAD_DATABASE_URL="postgresql+psycopg://h/db")


def _record(server: str) -> AuditRecord:
    return AuditRecord(
        at=AT, security_server=server, kind="request", message_id="m", request_id="r",
        client="MN/GOV/EMONGOLIA/portal", service="MN/GOV/GASR/civil-registry/persons",
        user_id=None, issue=None, represented_party=None, message_digest="ZA==",
        signature_digest="cw==", signer_cert_sha256="ab" * 32, outcome="ok", latency_ms=1.0)


def test_a_log_of_another_server_or_another_key_is_refused(tmp_path):
    store = SqlAuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
    key, stranger = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    try:
        check_shared_log(store, SERVER, key_name(SERVER), key.public_key())  # empty: fine
        store.append(_record(SERVER))
        ClusterCheckpointer(store, f"{SERVER} audit log", key_name(SERVER), key,
                            FixedClock(AT)).checkpoint()
        check_shared_log(store, SERVER, key_name(SERVER), key.public_key())
        with pytest.raises(ClusterMisconfigured, match="not signed by this node's"):
            check_shared_log(store, SERVER, key_name(SERVER), stranger.public_key())
        check_shared_log(store, SERVER, key_name(SERVER), None)  # key check off
        with pytest.raises(ClusterMisconfigured, match="holds the log of security server"):
            check_shared_log(store, "MN/GOV/EMONGOLIA/ss1", key_name(SERVER), None)
    finally:
        store.close()


def test_nodes_take_turns_on_postgresql():
    with fresh_database("xroad_lock_test") as url:
        first, second = DatabaseLock(url, CHECKPOINT_LOCK), DatabaseLock(url, CHECKPOINT_LOCK)
        order: list[str] = []
        try:
            with first.held():
                def take_second() -> None:
                    with second.held():
                        order.append("second")
                waiter = threading.Thread(target=take_second)
                waiter.start()
                time.sleep(0.5)
                order.append("first done")
            waiter.join(10)
            assert order == ["first done", "second"]
        finally:
            first.close()
            second.close()


def test_files_shared_by_nodes_are_written_once_and_atomically(tmp_path):
    path = tmp_path / "audit-log.pub"
    write_if_changed(path, "key\n")
    before = path.stat().st_mtime_ns, path.stat().st_ino
    write_if_changed(path, "key\n")
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == before
    write_if_changed(path, "other\n")
    assert path.read_text() == "other\n"
    assert [p.name for p in tmp_path.iterdir()] == ["audit-log.pub"]
    with first_start_lock(tmp_path / "token"):
        assert (tmp_path / "token").is_dir()


def test_demo_nodes_get_their_own_ports_and_the_shared_database():
    demo_servers = servers(DEFAULT_PORTS)
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/x"
    plans = plan_clusters({SERVER: DemoCluster(nodes=2, database_url=url)}, demo_servers,
                          DEFAULT_PORTS.all())
    provider = demo_servers[1]
    plan = plans[provider.id]
    assert [n.name for n in plan.nodes] == ["node1", "node2"]
    assert plan.nodes[0].client_port == provider.client_port  # node 1 keeps the server's
    ports = [p for n in plan.nodes for p in (n.client_port, n.server_port, n.admin_port)]
    assert len(set(ports)) == 6
    assert provider.server_port not in ports  # the load balancer's: registered address
    processes = node_processes("ss-x", {"XROAD_SS_SERVER_ID": SERVER}, provider, plan)
    assert [(name, env["XROAD_SS_NODE_NAME"], env["XROAD_DATABASE_URL"])
            for name, env, _ in processes] == [("ss-x-node1", "node1", url),
                                               ("ss-x-node2", "node2", url)]
    assert node_processes("ss-y", {}, demo_servers[0], None) == [
        ("ss-y", {}, demo_servers[0].client_port)]
    with pytest.raises(ValueError, match="names no security server"):
        plan_clusters({"MN/GOV/NOPE/ss9": DemoCluster(database_url=url)}, demo_servers, [])


def test_the_first_node_claims_an_empty_log_with_its_key(tmp_path):
    """Without a checkpoint yet, a node with another key could start before the first
    scheduled one: the first node signs one at start, so the second is refused at once."""
    store = SqlAuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
    key, stranger = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    first = ClusterCheckpointer(store, f"{SERVER} audit log", key_name(SERVER), key,
                                FixedClock(AT))
    second = ClusterCheckpointer(store, f"{SERVER} audit log", key_name(SERVER), stranger,
                                 FixedClock(AT))
    try:
        check_shared_log(store, SERVER, key_name(SERVER), key.public_key(),
                         claim=first.checkpoint)
        assert [c.size for c in store.checkpoints()] == [0]
        with pytest.raises(ClusterMisconfigured, match="copy the token directory"):
            check_shared_log(store, SERVER, key_name(SERVER), stranger.public_key(),
                             claim=second.checkpoint)
        assert [c.size for c in store.checkpoints()] == [0]  # the stranger signed nothing
    finally:
        store.close()
