"""The console's own check of a record's inclusion proof, beside the browser's (`proof.js`).

The auditor API sends a record's leaf, its audit path and the signed checkpoint the path
leads to. Trust must not rest on the API's word: the root is taken from the checkpoint note,
whose signature is checked with the log key the server published (`audit-log.pub`), and the
path is recomputed with `audit.merkle`. The page shows this result and the browser's side by
side, so a tampered console and a tampered server would both have to agree to fool an auditor.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from audit.checkpoint import CheckpointError, verify
from audit.checkpointer import key_name
from audit.merkle import ProofError, leaf_hash, verify_inclusion
from xroad.proxy.layout import AUDIT_LOG_PUBLIC_KEY_FILE


@dataclass(frozen=True, slots=True)
class ProofCheck:
    """The outcome, and what a page needs to show how it was reached."""

    verified: bool
    reason: str  # why not, or what was verified
    tree_size: int | None = None
    root_b64: str | None = None  # the checkpoint's root (what the browser compares with)
    leaf_hash_b64: str | None = None
    checkpoint_signed: bool = False  # the note's signature was checked with the log key


def log_key(key_dir: Path) -> ed25519.Ed25519PublicKey | None:
    """The server's published checkpoint key, if the console has a copy."""
    try:
        raw = base64.b64decode((key_dir / AUDIT_LOG_PUBLIC_KEY_FILE).read_text().strip(),
                               validate=True)
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    except (OSError, ValueError):
        return None


def checkpoint_root(note: str) -> tuple[int, bytes]:
    """Size and root from a checkpoint note's text, without its signature (for display)."""
    try:
        _origin, size, root_b64 = note.split("\n", 3)[:3]
        root = base64.b64decode(root_b64, validate=True)
        if not size.isdigit() or len(root) != 32:
            raise ValueError("not a size and a SHA-256 root")
    except (ValueError, binascii.Error) as e:
        raise CheckpointError(f"checkpoint text is malformed: {e}") from e
    return int(size), root


def check_record(doc: dict[str, Any], server_id: str,
                 public_key: ed25519.Ed25519PublicKey | None) -> ProofCheck:
    """Verify the record `doc` (as `GET /api/v1/audit/records/{index}` returns it)."""
    proof, note = doc.get("proof"), doc.get("checkpoint")
    if not isinstance(proof, dict) or not isinstance(note, str):
        return ProofCheck(False, "no checkpoint covers this record yet")
    try:
        leaf = base64.b64decode(str(doc["leaf"]), validate=True)
        index = int(doc["index"])
        path = [base64.b64decode(str(h), validate=True) for h in proof["audit_path"]]
        if public_key is not None:
            checkpoint = verify(note.encode(), key_name(server_id), public_key)
            size, root, signed = checkpoint.size, checkpoint.root, True
        else:
            (size, root), signed = checkpoint_root(note), False
        if size != int(proof["tree_size"]):
            raise ProofError(f"the proof is for {proof['tree_size']} records, "
                             f"the checkpoint for {size}")
        verify_inclusion(leaf_hash(leaf), index, size, path, root)
    except (CheckpointError, ProofError) as e:
        return ProofCheck(False, str(e), checkpoint_signed=False)
    except (KeyError, TypeError, ValueError, binascii.Error) as e:
        return ProofCheck(False, f"the server's answer is malformed: {type(e).__name__}")
    return ProofCheck(True, f"record {index} is in the checkpoint of {size} records",
                      size, base64.b64encode(root).decode(),
                      base64.b64encode(leaf_hash(leaf)).decode(), signed)
