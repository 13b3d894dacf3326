"""In-process micro benchmarks: message signing and verification, durable audit appends."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import secrets
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from sqlalchemy import create_engine, text

from audit.group_commit import GroupCommitter
from audit.integrity import check_integrity
from audit.record import AuditEntry, AuditRecord
from audit.store import SqlAuditStore
from keys.devpki import ensure_dev_ca, new_key
from keys.ocsp_responses import OcspResponder
from keys.token import SoftwareToken
from xroad.identifiers import ClientId
from xroad.messages.multipart import Part
from xroad.signing.message import (
    Direction,
    RememberingOcspRequired,
    digest,
    sign_message,
    verify_message,
)

PIN = "bench-pin"  # TEST ONLY: a throwaway token in a temporary directory
CLIENT = "MN/GOV/EMONGOLIA/portal"
SERVICE = "MN/GOV/GASR/civil-registry/persons"
PROVIDER_MEMBER = "MN/GOV/GASR"
POSTGRES_ADMIN_URL_ENV = "BENCH_POSTGRES_URL"  # e.g. postgresql+psycopg://postgres@127.0.0.1/postgres


def rate(operation: Callable[[int], object], seconds: float) -> tuple[int, float]:
    """Call `operation(i)` for i = 0, 1, ... during `seconds`; return (calls, calls per second)."""
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        operation(count)
        count += 1
    return count, count / elapsed


def _one_kib_part() -> Part:
    person = {"register_number": "УБ99112233", "family_name": "Бат-Эрдэнэ", "given_name": "Болд"}
    data = json.dumps(person, ensure_ascii=False).encode()
    return Part("application/json", data + b" " * (1024 - len(data)))


def signing(work_dir: Path, seconds: float) -> dict[str, Any]:
    """sign_message / verify_message of one 1 KiB part with a dev-PKI key, as the proxies do."""
    at = datetime.now(UTC)
    ca = ensure_dev_ca(work_dir / "pki", "MN", PIN, at)
    key = new_key()
    cert = ca.issue_signing_cert(ClientId.parse(PROVIDER_MEMBER), key.public_key(), at)
    token = SoftwareToken(work_dir / "token")
    token.store("sign", key, [cert, *ca.chain], PIN)
    signer = token.unlock("sign", PIN)
    parts = [_one_kib_part()]

    responder = OcspResponder(ca.issuing, ca.ensure_ocsp_signer(PIN, at), ca.index)
    request = (ocsp.OCSPRequestBuilder().add_certificate(cert, ca.issuing, hashes.SHA1())  # noqa: S303
               .build().public_bytes(serialization.Encoding.DER))
    evidence = responder.respond(request, at)
    revocation = RememberingOcspRequired([ca.root, ca.issuing], 3600, scope=1, memory={})

    def sign(i: int) -> Part:
        return sign_message(parts, direction=Direction.REQUEST, request_id=f"req-{i}",
                            message_id=f"msg-{i}", client=CLIENT, service=SERVICE,
                            signer=signer, chain=signer.chain, at=at, ocsp=evidence)

    signature = sign(0)

    def verify(_: int) -> object:  # with the OCSP check, as the proxies verify
        return verify_message([*parts, signature], direction=Direction.REQUEST,
                              request_id="req-0", expected_signer=PROVIDER_MEMBER,
                              approved_cas=[ca.root, ca.issuing], at=at,
                              revocation=revocation)

    signs, sign_rate = rate(sign, seconds)
    verifies, verify_rate = rate(verify, seconds)
    return {"algorithm": str(signer.algorithm), "part_bytes": len(parts[0].data),
            "sign_per_s": round(sign_rate), "verify_per_s": round(verify_rate),
            "signs": signs, "verifies": verifies,
            "note": "verify includes the certificate path check and the OCSP evidence check "
                    "(remembered once verified, as in the proxies)"}


def _record(i: int) -> AuditRecord:
    return AuditRecord(
        at=datetime.now(UTC), security_server="MN/GOV/GASR/ss1", kind="request",
        message_id=f"msg-{i}", request_id=f"req-{i}", client=CLIENT, service=SERVICE,
        user_id="MNУБ99112233", issue="benchmark", represented_party=None,
        message_digest=digest(b"message %d" % i), signature_digest=digest(b"signature %d" % i),
        signer_cert_sha256=secrets.token_hex(32), outcome="ok", latency_ms=1.0)


GROUP_COMMIT_WRITERS = 64  # concurrent exchanges waiting for their records, as under load


async def _group_commit_rate(store: SqlAuditStore, seconds: float) -> int:
    committer = GroupCommitter(store)
    deadline = time.perf_counter() + seconds
    count = 0

    async def writer(w: int) -> None:
        nonlocal count
        i = 0
        while time.perf_counter() < deadline:
            await committer.append(AuditEntry(_record(w * 1_000_000 + i)))
            i += 1
            count += 1

    await asyncio.gather(*(writer(w) for w in range(GROUP_COMMIT_WRITERS)))
    return count


def audit_appends(url: str, seconds: float) -> dict[str, Any]:
    """Durable appends per second on one `SqlAuditStore`: one at a time, and with group commit
    from concurrent writers (how the security server writes); then the tree must verify."""
    store = SqlAuditStore(url)
    try:
        single, single_rate = rate(lambda i: store.append(_record(i)), seconds / 2)
        started = time.perf_counter()
        grouped = asyncio.run(_group_commit_rate(store, seconds / 2))
        grouped_rate = grouped / (time.perf_counter() - started)
        verified = check_integrity(store)
    finally:
        store.close()
    return {"appends_per_s": round(grouped_rate), "appends": single + grouped,
            "one_at_a_time_per_s": round(single_rate),
            "group_commit_writers": GROUP_COMMIT_WRITERS,
            "tree_verified": verified == single + grouped}


def sqlite_audit(work_dir: Path, seconds: float) -> dict[str, Any]:
    result = audit_appends(f"sqlite:///{work_dir / 'audit-bench.db'}", seconds)
    return {**result, "durability": "WAL, synchronous=FULL, every append durable before its "
                                    "writer continues (group commit)"}


def _postgres_listening(host: str = "127.0.0.1", port: int = 5432) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def postgres_audit(seconds: float) -> dict[str, Any]:
    """The same on PostgreSQL, in a throwaway database; null with a reason when impossible."""
    listening = _postgres_listening()
    dialect = next((d for module, d in (("psycopg", "postgresql+psycopg"),
                                        ("psycopg2", "postgresql+psycopg2"))
                    if importlib.util.find_spec(module) is not None), None)
    if dialect is None:
        return {"appends_per_s": None, "server_listening_on_5432": listening,
                "reason": "no PostgreSQL driver (psycopg or psycopg2) is installed"}
    admin_url = os.environ.get(POSTGRES_ADMIN_URL_ENV, f"{dialect}://postgres@127.0.0.1/postgres")
    name = f"bench_audit_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            base = admin_url.rsplit("/", 1)[0]
            return {**audit_appends(f"{base}/{name}", seconds),
                    "durability": "PostgreSQL defaults (synchronous_commit on), group commit"}
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    except Exception as e:  # report, never fail the benchmark: the bus does not need PostgreSQL
        return {"appends_per_s": None, "server_listening_on_5432": listening,
                "reason": f"{type(e).__name__}: {e}"[:300]}
    finally:
        admin.dispose()


def run_all(work_dir: Path, seconds: float) -> dict[str, Any]:
    return {
        "signing": signing(work_dir, seconds),
        "audit_sqlite": sqlite_audit(work_dir, seconds),
        "audit_postgresql": postgres_audit(seconds),
    }
