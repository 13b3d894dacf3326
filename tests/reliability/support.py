"""What the fault tests share: exchanges through the demo, its audit logs, sealed checkpoints."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import select

from audit import schema
from audit.checkpoint import Checkpoint, verify
from audit.checkpointer import key_name
from audit.integrity import check_integrity
from audit.query import FoundRecord, RecordQuery, search
from audit.store import SqlAuditStore
from tests.e2e.demo import RunningDemo
from tests.e2e.test_exchange import CONSUMER, PERSON_PATH, PORTAL, PROVIDER
from xroad.signing.message import digest
from xroad.signing.timestamp import verify_timestamp

__all__ = ["CONSUMER", "PERSON_PATH", "PORTAL", "PROVIDER"]


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str,
               interval_s: float = 0.05) -> None:
    """Poll `condition` until it holds; fail with `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(interval_s)


def ask(http: httpx.Client, demo: RunningDemo, message_id: str) -> httpx.Response:
    """One REST exchange through the consumer's security server with our own message id."""
    return http.get(demo.server(CONSUMER)["client_url"] + PERSON_PATH,
                    headers={"X-Road-Client": PORTAL, "X-Road-Id": message_id})


@contextmanager
def audit_store(demo: RunningDemo, server_id: str) -> Iterator[SqlAuditStore]:
    store = SqlAuditStore(f"sqlite:///{demo.server_dir(server_id) / 'audit.db'}")
    try:
        yield store
    finally:
        store.close()


def log_public_key(demo: RunningDemo, server_id: str) -> ed25519.Ed25519PublicKey:
    return ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(
        (demo.server_dir(server_id) / "audit-log.pub").read_text()))


def verify_checkpoint(demo: RunningDemo, server_id: str, note: bytes) -> Checkpoint:
    checkpoint = verify(note, key_name(server_id), log_public_key(demo, server_id))
    assert checkpoint.origin == f"{server_id} audit log"
    return checkpoint


def seal(demo: RunningDemo, server_id: str) -> httpx.Response:
    """`POST /api/v1/audit/seal` on the server's admin API with its admin key."""
    key = (demo.server_dir(server_id) / "admin-api-key").read_text().strip()
    return httpx.post(demo.server(server_id)["admin_url"] + "/api/v1/audit/seal", timeout=60,
                      headers={"Authorization": f"X-Road-ApiKey token={key}"})


@dataclass(frozen=True)
class Sealed:
    checkpoint: Checkpoint
    note: bytes
    stamped_at: datetime


def verify_sealed(demo: RunningDemo, server_id: str, reply: httpx.Response) -> Sealed:
    """The sealed checkpoint's signature (the log's key) and its RFC 3161 token (over the
    SHA-512 of the note's exact bytes, chaining to the dev PKI)."""
    assert reply.status_code == 200, reply.text
    note = reply.json()["checkpoint"].encode()
    token = base64.b64decode(reply.json()["timestamp"])
    trusted = x509.load_pem_x509_certificates(
        (demo.data_dir / "pki" / "ca-chain.pem").read_bytes())
    stamped_at = verify_timestamp(token, hashlib.sha512(note).digest(), trusted,
                                  datetime.now(UTC))
    return Sealed(verify_checkpoint(demo, server_id, note), note, stamped_at)


def check_log(demo: RunningDemo, server_id: str, store: SqlAuditStore) -> int:
    """The whole log is intact and nothing in it is half-written; returns its size.

    `check_integrity`: contiguous indexes, every leaf equal to its tree node, the stored tree
    and every checkpoint's root equal to the records'. Beyond it: each row's search columns
    equal its leaf, each signature kept beside a record matches the digest the leaf holds (and
    none is missing or orphaned), subjects and bodies belong to records, and every stored
    checkpoint is signed by the log's key.
    """
    size = store.size()
    assert check_integrity(store) == size
    with store.engine.connect() as conn:
        rows = conn.execute(select(schema.log)).all()
        signatures = {int(r.idx): bytes(r.signature)
                      for r in conn.execute(select(schema.signature))}
        subject_idx = {int(r.idx) for r in conn.execute(select(schema.subject.c.idx))}
        body_idx = {int(r.idx) for r in conn.execute(select(schema.body.c.idx))}
    assert len(rows) == size
    for row in rows:
        leaf = json.loads(row.leaf)
        for column in ("kind", "message_id", "request_id", "client", "service", "outcome"):
            assert getattr(row, column) == leaf[column], (server_id, row.idx, column)
        assert leaf["security_server"] == server_id, (server_id, row.idx)
        if leaf["outcome"] == "ok":
            assert leaf["signature_digest"] is not None, (server_id, row.idx)
        kept = signatures.get(int(row.idx))
        if leaf["signature_digest"] is not None:
            assert kept is not None, f"{server_id} record {row.idx}: its signature is missing"
            assert digest(kept) == leaf["signature_digest"], (server_id, row.idx)
    assert set(signatures) <= set(range(size)), f"{server_id}: signatures without records"
    assert subject_idx <= set(range(size)), f"{server_id}: subjects without records"
    assert body_idx <= set(range(size)), f"{server_id}: bodies without records"
    for stored in store.checkpoints():
        checkpoint = verify_checkpoint(demo, server_id, stored.note)
        assert checkpoint.size == stored.size <= size
    return size


def kinds_recorded(store: SqlAuditStore, message_id: str) -> list[str]:
    return sorted(r.fields["kind"] for r in search(store, RecordQuery(message_id=message_id)))


def exchange_records(store: SqlAuditStore, message_id: str) -> dict[str, FoundRecord]:
    """A message's records on one server, by kind; exactly one request and one response."""
    found = search(store, RecordQuery(message_id=message_id))
    kinds = sorted(r.fields["kind"] for r in found)
    assert kinds == ["request", "response"], (message_id, kinds)
    return {r.fields["kind"]: r for r in found}
