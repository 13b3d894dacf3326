"""Evidence bundles for tests: the fixed dev PKI, real OCSP responses and time-stamp tokens,
records with real message signatures, and helpers that tamper with a written bundle.

Everything runs on the system clock, because the OCSP responder's producedAt does.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509 import ocsp

from audit.checkpoint import Checkpoint, sign
from audit.checkpointer import key_name
from audit.evidence import (
    ArchiveRange,
    EarlierCheckpoint,
    ExportMetadata,
    LogKey,
    write_bundle,
)
from audit.merkle import consistency_proof, inclusion_proof, leaf_hash, root
from keys.fixedpki import GOOD_MEMBER, FixedPki, build_fixed_pki
from keys.ocsp_responses import OcspResponder
from keys.token import SoftwareSigner
from keys.tsa import timestamp_query
from keys.tsa_responses import TimeStampAuthority
from xroad.identifiers import ClientId
from xroad.messages.multipart import Part
from xroad.signing.message import Direction, digest, sign_message
from xroad.signing.timestamp import token_from_reply

PIN = "test-only-pin"  # TEST ONLY
SERVER = "MN/GOV/GASR/ss1"
ORIGIN = f"{SERVER} audit log"
KEY_NAME = key_name(SERVER)
CLIENT = "MN/GOV/GASR/civil-registry"
SERVICE = "MN/GOV/GASR/archive/getPerson/v1"
UNSIGNED = 5  # a fault response: no signature at all
NOT_CARRIED = 6  # names a signature digest, but the bundle does not carry the part
SIZE = 9


@dataclass(frozen=True)
class Entry:
    leaf: bytes
    signature: bytes | None

    @property
    def fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = json.loads(self.leaf)
        return fields


@dataclass(frozen=True)
class World:
    pki: FixedPki
    responder: OcspResponder
    tsa: TimeStampAuthority
    log_key: Ed25519PrivateKey
    now: datetime

    def ocsp_for(self, signer: SoftwareSigner) -> bytes:
        request = (ocsp.OCSPRequestBuilder()
                   .add_certificate(signer.certificate, self.pki.ca.issuing, hashes.SHA1())  # noqa: S303
                   .build().public_bytes(serialization.Encoding.DER))
        return self.responder.respond(request, self.now)

    def stamp(self, data: bytes, tsa: TimeStampAuthority | None = None) -> bytes:
        """A time-stamp token over SHA-512(data), as the security server asks for."""
        data_digest, nonce = hashlib.sha512(data).digest(), secrets.randbits(63)
        reply = (tsa or self.tsa).respond(timestamp_query(data_digest, "sha512", nonce),
                                          self.now)
        return token_from_reply(reply.der, data_digest, nonce)

    def note(self, size: int, root_hash: bytes, key: Ed25519PrivateKey | None = None) -> bytes:
        return sign(Checkpoint(ORIGIN, size, root_hash), KEY_NAME, key or self.log_key)

    @property
    def log_public_key(self) -> LogKey:
        return LogKey(KEY_NAME, self.log_key.public_key())


def make_world(directory: Path) -> World:
    pki = build_fixed_pki(directory, PIN)
    return World(pki, OcspResponder(pki.ca.issuing, pki.ocsp, pki.ca.index),
                 TimeStampAuthority(pki.tsa),
                 Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"test log key").digest()),
                 datetime.now(UTC))


def canonical(fields: dict[str, Any]) -> bytes:
    """What `AuditRecord.canonical_bytes` writes: sorted keys, compact, UTF-8."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_fields(world: World, index: int, kind: str, **fields: Any) -> dict[str, Any]:
    return {"at": world.now.isoformat(), "security_server": SERVER, "kind": kind,
            "message_id": f"msg-{index // 2}", "request_id": f"req-{index // 2}",
            "client": CLIENT, "service": SERVICE, "user_id": "MN-officer-17",
            "issue": "case 2026/17", "represented_party": None, "message_digest": None,
            "signature_digest": None, "signer_cert_sha256": None, "outcome": "ok",
            "latency_ms": 12.5, "subjects": [f"hmac-{index}"], **fields}


def signed_entry(world: World, index: int, *, member: ClientId = GOOD_MEMBER,
                 alter: Callable[[dict[str, Any]], None] | None = None,
                 **fields: Any) -> Entry:
    """A record of message `index // 2` (request, then response) with its real signature part;
    `alter` edits the signature part's JSON after signing (a bad signature that got logged)."""
    kind = "request" if index % 2 == 0 else "response"
    signer = world.pki.members[member]
    parts = [Part("text/xml; charset=UTF-8", f"<message n='{index}'>Болд</message>".encode())]
    part = sign_message(parts, direction=Direction(kind), request_id=f"req-{index // 2}",
                        message_id=f"msg-{index // 2}", client=CLIENT, service=SERVICE,
                        signer=signer, chain=signer.chain, at=world.now,
                        ocsp=world.ocsp_for(signer))
    signature = part.data
    if alter is not None:
        doc = json.loads(signature)
        alter(doc)
        signature = json.dumps(doc).encode()
    cert = signer.certificate.public_bytes(serialization.Encoding.DER)
    leaf = record_fields(world, index, kind, message_digest=digest(parts[0].data),
                         signature_digest=digest(signature),
                         signer_cert_sha256=hashlib.sha256(cert).hexdigest())
    return Entry(canonical({**leaf, **fields}), signature)


def default_entries(world: World) -> list[Entry]:
    entries = [signed_entry(world, i) for i in range(SIZE)]
    entries[UNSIGNED] = Entry(canonical(record_fields(
        world, UNSIGNED, "response", outcome="Server.ServerProxy.ServiceFailed")), None)
    entries[NOT_CARRIED] = Entry(entries[NOT_CARRIED].leaf, None)
    return entries


def write_test_bundle(world: World, out: Path, entries: Sequence[Entry], *,
                      select: Sequence[int] | None = None, filters: dict[str, str] | None = None,
                      history: Sequence[int] = (2, 5, SIZE),
                      archive: ArchiveRange | None = None) -> Path:
    """A bundle of `entries` (all, or `select` with `filters`) under a fresh checkpoint."""
    leaves = [leaf_hash(e.leaf) for e in entries]
    note = world.note(len(leaves), root(leaves))
    earlier = [EarlierCheckpoint(m, world.note(m, root(leaves[:m])),
                                 tuple(consistency_proof(leaves, m))) for m in history]
    chosen = range(len(entries)) if select is None else select
    write_bundle(
        out, records=[(i, entries[i].leaf, entries[i].signature) for i in chosen],
        checkpoint_note=note, timestamp_token_der=world.stamp(note),
        inclusion_proof=lambda i: inclusion_proof(leaves, i), history=earlier,
        log_key=world.log_public_key,
        tsa_chain=[world.pki.tsa.certificate, *world.pki.ca.chain],
        ca_chain=world.pki.ca.chain,
        metadata=ExportMetadata(SERVER, world.now, filters or {}, archive=archive))
    return out


# --- tampering with a written bundle ----------------------------------------------------------

def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def edit_lines(path: Path, edit: Callable[[list[bytes]], list[bytes]]) -> None:
    path.write_bytes(b"".join(edit(lines(path))))


def edit_record(bundle: Path, index: int, edit: Callable[[dict[str, Any]], None]) -> None:
    """Edit the JSON of the records.jsonl line of record `index`."""
    def apply(all_lines: list[bytes]) -> list[bytes]:
        out = []
        for line in all_lines:
            doc = json.loads(line)
            if doc["index"] != index:
                out.append(line)
                continue
            edit(doc)
            out.append(json.dumps(doc, ensure_ascii=False).encode() + b"\n")
        return out
    edit_lines(bundle / "records.jsonl", apply)


def flip_leaf_byte(doc: dict[str, Any], offset: int = 40) -> None:
    leaf = bytearray(base64.b64decode(doc["leaf"]))
    leaf[offset] ^= 0x01
    doc["leaf"] = base64.b64encode(bytes(leaf)).decode()


def pem(certs: Sequence[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def problems(report: Any) -> list[str]:
    return [str(p) for p in report.problems]
