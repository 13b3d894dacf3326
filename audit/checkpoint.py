"""Log checkpoints in the C2SP signed-note format (pure).

    <origin>\\n<tree size>\\n<base64 root hash>\\n\\n— <key name> <base64(key id || signature)>\\n

The signature (Ed25519) covers the note text: the three lines with their newlines. The key id
is the first four bytes of SHA-256(key name || "\\n" || 0x01 || public key), as C2SP defines
for Ed25519, so standard transparency-log tooling can check our checkpoints.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from xroad.errors import VerificationError

_ED25519: Final = b"\x01"
_NAME: Final = re.compile(r"[^\s+]+")
_MAX_NOTE: Final = 16 * 1024


class CheckpointError(VerificationError):
    """A checkpoint is malformed, or not signed by the log's key."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str  # names the log, e.g. "MN/GOV/GASR/ss1 audit log"
    size: int
    root: bytes  # RFC 6962 root hash of the first `size` records

    def text(self) -> bytes:
        if "\n" in self.origin or not self.origin:
            raise ValueError("the origin is one non-empty line")
        return (f"{self.origin}\n{self.size}\n"
                f"{base64.b64encode(self.root).decode()}\n").encode()


def key_id(name: str, public_key: ed25519.Ed25519PublicKey) -> bytes:
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(name.encode() + b"\n" + _ED25519 + raw).digest()[:4]


def sign(checkpoint: Checkpoint, name: str, key: ed25519.Ed25519PrivateKey) -> bytes:
    if not _NAME.fullmatch(name):
        raise ValueError("a key name has no spaces or '+'")
    text = checkpoint.text()
    signature = key_id(name, key.public_key()) + key.sign(text)
    return text + b"\n" + f"\u2014 {name} {base64.b64encode(signature).decode()}\n".encode()


def verify(note: bytes, name: str, public_key: ed25519.Ed25519PublicKey) -> Checkpoint:
    """The checkpoint in `note` if `name`'s key signed it; `CheckpointError` otherwise."""
    if len(note) > _MAX_NOTE:
        raise CheckpointError("checkpoint note too large")
    text, sep, signatures = note.partition(b"\n\n")
    if not sep:
        raise CheckpointError("checkpoint has no signature block")
    text += b"\n"
    expected = key_id(name, public_key)
    for line in signatures.decode("utf-8", errors="strict").splitlines():
        prefix = f"\u2014 {name} "
        if not line.startswith(prefix):
            continue
        try:
            blob = base64.b64decode(line[len(prefix):], validate=True)
        except (binascii.Error, ValueError) as e:
            raise CheckpointError("checkpoint signature is not base64") from e
        if blob[:4] != expected:
            continue
        try:
            public_key.verify(blob[4:], text)
        except _CryptoInvalidSignature as e:
            raise CheckpointError("checkpoint signature does not verify") from e
        return _parse(text)
    raise CheckpointError(f"checkpoint is not signed by {name}")


def _parse(text: bytes) -> Checkpoint:
    try:
        origin, size, root_b64, rest = text.decode("utf-8").split("\n", 3)
        if rest != "" or not origin or not size.isdigit() or (size != "0" and size[0] == "0"):
            raise ValueError("not origin, size and root on three lines")
        root = base64.b64decode(root_b64, validate=True)
    except (ValueError, binascii.Error) as e:
        raise CheckpointError(f"checkpoint text is malformed: {e}") from e
    if len(root) != 32:
        raise CheckpointError("checkpoint root is not a SHA-256 hash")
    return Checkpoint(origin, int(size), root)
