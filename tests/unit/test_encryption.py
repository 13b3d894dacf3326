"""Chunked HPKE + AES-256-GCM encryption between security servers."""

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xroad.encryption import (
    CHUNK_SIZE,
    Decryptor,
    Suite,
    decrypt,
    encrypt,
    key_id,
    keypair_from_seed,
)
from xroad.errors import DecryptionFailed

CONTEXT = b"request|3f1c|MN/GOV/EMONGOLIA/ss1|MN/GOV/GASR/ss1"
SUITES = [Suite.X25519_AES256GCM, Suite.MLKEM768_X25519_AES256GCM]


def pair(suite, seed=b"\x01" * 96):
    return keypair_from_seed(seed, suite)


def keys_of(p):
    return {key_id(p.public_bytes): p}


def frames(stream: bytes):
    """Split an encrypted stream into header and length-prefixed chunks."""
    sealed_len = int.from_bytes(stream[28:30], "big")
    header_len = 30 + sealed_len
    header, rest, chunks = stream[:header_len], stream[header_len:], []
    while rest:
        size = int.from_bytes(rest[:4], "big")
        chunks.append(rest[:4 + size])
        rest = rest[4 + size:]
    return header, chunks


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 17])
def test_round_trip(suite, size):
    p = pair(suite)
    plain = os.urandom(size)
    stream = b"".join(encrypt([plain[:10], plain[10:]], p.recipient, CONTEXT))
    assert decrypt(stream, keys_of(p), CONTEXT) == plain


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=3 * CHUNK_SIZE), st.integers(min_value=1, max_value=5000))
def test_incremental_feeding_in_any_pieces(plain, step):
    p = pair(Suite.X25519_AES256GCM)
    stream = b"".join(encrypt([plain], p.recipient, CONTEXT))
    decryptor = Decryptor(keys_of(p), CONTEXT)
    out = b"".join(b"".join(decryptor.feed(stream[i:i + step]))
                   for i in range(0, len(stream), step))
    decryptor.finish()
    assert out == plain


def _stream(suite=Suite.X25519_AES256GCM, size=3 * CHUNK_SIZE):
    p = pair(suite)
    return p, b"".join(encrypt([os.urandom(size)], p.recipient, CONTEXT))


def test_truncated_stream_is_refused():
    p, stream = _stream()
    header, chunks = frames(stream)
    with pytest.raises(DecryptionFailed, match="truncated"):
        decrypt(header + b"".join(chunks[:-1]), keys_of(p), CONTEXT)


def test_reordered_chunks_are_refused():
    p, stream = _stream()
    header, chunks = frames(stream)
    chunks[0], chunks[1] = chunks[1], chunks[0]
    with pytest.raises(DecryptionFailed, match="altered or re-ordered"):
        decrypt(header + b"".join(chunks), keys_of(p), CONTEXT)


def test_dropped_middle_chunk_is_refused():
    p, stream = _stream()
    header, chunks = frames(stream)
    with pytest.raises(DecryptionFailed):
        decrypt(header + chunks[0] + b"".join(chunks[2:]), keys_of(p), CONTEXT)


def test_appended_data_is_refused():
    p, stream = _stream(size=10)
    with pytest.raises(DecryptionFailed):
        decrypt(stream + stream[-30:], keys_of(p), CONTEXT)


@pytest.mark.parametrize("offset", [5, 22, 31, -1], ids=["key-id", "nonce", "sealed-key", "tag"])
def test_any_flipped_byte_is_refused(offset):
    p, stream = _stream(size=100)
    tampered = bytearray(stream)
    tampered[offset] ^= 0x01
    with pytest.raises(DecryptionFailed):
        decrypt(bytes(tampered), keys_of(p), CONTEXT)


def test_other_context_is_refused():
    """A message lifted into another exchange (other request id or servers) does not open."""
    p, stream = _stream(size=100)
    with pytest.raises(DecryptionFailed):
        decrypt(stream, keys_of(p), CONTEXT.replace(b"3f1c", b"9999"))


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
def test_message_for_another_server_is_refused(suite):
    ours = pair(suite)
    theirs = pair(suite, seed=b"\x02" * 96)
    stream = b"".join(encrypt([b"secret"], theirs.recipient, CONTEXT))
    with pytest.raises(DecryptionFailed, match="does not hold"):
        decrypt(stream, keys_of(ours), CONTEXT)


def test_unknown_version_and_suite_are_refused():
    p, stream = _stream(size=10)
    with pytest.raises(DecryptionFailed, match="version"):
        decrypt(b"XRE9" + stream[4:], keys_of(p), CONTEXT)
    with pytest.raises(DecryptionFailed, match="suite"):
        decrypt(stream[:4] + b"\x07" + stream[5:], keys_of(p), CONTEXT)


def test_hybrid_public_key_carries_both_components():
    p = pair(Suite.MLKEM768_X25519_AES256GCM)
    assert len(p.public_bytes) == 1184 + 32
    assert p.public_bytes[-32:] == pair(Suite.X25519_AES256GCM).public_bytes
