"""C2SP signed-note checkpoints: made, verified, and every forgery refused."""

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from audit.checkpoint import Checkpoint, CheckpointError, key_id, sign, verify
from audit.merkle import leaf_hash, root

NAME = "MN-GOV-GASR-ss1-audit"
KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
CHECKPOINT = Checkpoint("MN/GOV/GASR/ss1 audit log", 3,
                        root([leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c")]))


def test_round_trip_and_format():
    note = sign(CHECKPOINT, NAME, KEY)
    text, _, signature = note.partition(b"\n\n")
    assert text.split(b"\n") == [b"MN/GOV/GASR/ss1 audit log", b"3",
                                 base64.b64encode(CHECKPOINT.root)]
    assert signature.startswith(f"\u2014 {NAME} ".encode())
    blob = base64.b64decode(signature.split(b" ")[2])
    assert blob[:4] == key_id(NAME, KEY.public_key())
    assert len(blob) == 4 + 64
    assert verify(note, NAME, KEY.public_key()) == CHECKPOINT


def test_key_id_is_the_c2sp_one():
    raw = KEY.public_key().public_bytes_raw()
    assert key_id(NAME, KEY.public_key()) == hashlib.sha256(
        NAME.encode() + b"\n\x01" + raw).digest()[:4]


@pytest.mark.parametrize("forge", [
    lambda n: n.replace(b"\n3\n", b"\n2\n"),
    lambda n: n.replace(b"audit log", b"audit loG"),
    lambda n: n[:-3] + (b"A" if n[-3:-2] != b"A" else b"B") + n[-2:],
    lambda n: n.split(b"\n\n")[0] + b"\n",
    lambda n: n.replace(b"\n\n", b"\nextra\n\n"),
], ids=["size", "origin", "signature", "no-signature", "extra-line"])
def test_forged_checkpoints_are_refused(forge):
    with pytest.raises(CheckpointError):
        verify(forge(sign(CHECKPOINT, NAME, KEY)), NAME, KEY.public_key())


def test_signature_by_another_key_is_refused():
    other = ed25519.Ed25519PrivateKey.generate()
    with pytest.raises(CheckpointError, match="not signed by"):
        verify(sign(CHECKPOINT, NAME, other), NAME, KEY.public_key())


def test_other_signers_lines_are_ignored():
    note = sign(CHECKPOINT, NAME, KEY)
    witness = "\u2014 witness AAAA\n".encode()
    assert verify(note + witness, NAME, KEY.public_key()) == CHECKPOINT
