"""The console's server-side check of a record's inclusion proof (what the record page shows
beside the browser's result): a sound proof verifies, every tampering is caught."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from audit.checkpoint import Checkpoint, sign
from audit.checkpointer import key_name
from audit.merkle import inclusion_proof, leaf_hash, root
from xroad.console.proof import check_record, checkpoint_root, log_key

SERVER = "MN/GOV/GASR/ss1"
KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))  # TEST ONLY
LEAVES = [json.dumps({"index": i, "kind": "request"}).encode() for i in range(7)]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def record_doc(index: int, size: int = len(LEAVES),
               key: ed25519.Ed25519PrivateKey = KEY) -> dict[str, Any]:
    """What `GET /api/v1/audit/records/{index}` answers."""
    hashes = [leaf_hash(leaf) for leaf in LEAVES[:size]]
    tree_root = root(hashes)
    note = sign(Checkpoint(f"{SERVER} audit log", size, tree_root), key_name(SERVER), key)
    return {"index": index, "leaf": b64(LEAVES[index]), "leaf_hash": b64(hashes[index]),
            "proof": {"tree_size": size, "root": b64(tree_root),
                      "audit_path": [b64(h) for h in inclusion_proof(hashes, index)]},
            "checkpoint": note.decode()}


@pytest.mark.parametrize("index", range(len(LEAVES)))
def test_every_record_verifies_against_the_signed_checkpoint(index: int) -> None:
    check = check_record(record_doc(index), SERVER, KEY.public_key())
    assert check.verified, check.reason
    assert check.checkpoint_signed
    assert check.tree_size == len(LEAVES)
    assert check.leaf_hash_b64 == b64(leaf_hash(LEAVES[index]))


def test_a_tampered_audit_path_fails() -> None:
    doc = record_doc(3)
    path = doc["proof"]["audit_path"]
    path[1] = b64(bytes(32))
    check = check_record(doc, SERVER, KEY.public_key())
    assert not check.verified
    assert "not in the tree" in check.reason


def test_a_tampered_leaf_fails() -> None:
    doc = record_doc(2)
    doc["leaf"] = b64(LEAVES[2].replace(b"request", b"response"))
    assert not check_record(doc, SERVER, KEY.public_key()).verified


def test_the_root_comes_from_the_checkpoint_not_the_api_field() -> None:
    """A server that lies in `proof.root` gains nothing: that field is never used."""
    doc = record_doc(4)
    doc["proof"]["root"] = b64(bytes(32))
    assert check_record(doc, SERVER, KEY.public_key()).verified
    other = record_doc(4, key=ed25519.Ed25519PrivateKey.generate())  # someone else's note
    check = check_record(other, SERVER, KEY.public_key())
    assert not check.verified
    assert "not signed" in check.reason


def test_a_proof_for_another_tree_size_fails() -> None:
    doc = record_doc(1)
    doc["proof"] = record_doc(1, size=5)["proof"]
    check = check_record(doc, SERVER, KEY.public_key())
    assert not check.verified
    assert "5 records" in check.reason


def test_without_the_log_key_the_path_is_checked_but_not_the_signature() -> None:
    check = check_record(record_doc(0), SERVER, None)
    assert check.verified
    assert not check.checkpoint_signed


def test_no_checkpoint_yet_and_malformed_answers_are_not_verified() -> None:
    doc = record_doc(0)
    del doc["checkpoint"]
    assert check_record(doc, SERVER, KEY.public_key()).reason.startswith("no checkpoint")
    doc = record_doc(0)
    doc["proof"]["audit_path"] = ["not base64!"]
    assert "malformed" in check_record(doc, SERVER, KEY.public_key()).reason


def test_the_published_log_key_and_note_text(tmp_path: Path) -> None:
    assert log_key(tmp_path) is None
    raw = KEY.public_key().public_bytes_raw()
    (tmp_path / "audit-log.pub").write_text(b64(raw) + "\n")
    found = log_key(tmp_path)
    assert found is not None
    assert found.public_bytes_raw() == raw
    size, tree_root = checkpoint_root(record_doc(0)["checkpoint"])
    assert size == len(LEAVES)
    assert tree_root == root([leaf_hash(leaf) for leaf in LEAVES])
