"""Message-level encryption between security servers, on top of TLS (pure).

A random content key is sealed to the receiving server's public key with HPKE (RFC 9180);
the message is then encrypted in chunks with AES-256-GCM in the STREAM construction: the
nonce is a random prefix, a chunk counter and a last-chunk flag, so a re-ordered, dropped
or truncated chunk fails authentication. Every chunk's associated data is the header, which
binds the suite, the recipient key and the exchange context (direction, request id, the two
servers). The audit log keeps digests of the plaintext and never needs these keys.

Wire format (`application/x-road-encrypted`):
    "XRE1" | suite (1 byte) | key id (16 bytes) | nonce prefix (7 bytes)
    | sealed key length (2 bytes, big-endian) | sealed key (HPKE enc || ciphertext)
    then chunks: ciphertext length (4 bytes, big-endian) | AES-256-GCM ciphertext
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from xroad.errors import DecryptionFailed

CONTENT_TYPE: Final = "application/x-road-encrypted"
MAGIC: Final = b"XRE1"
CHUNK_SIZE: Final = 64 * 1024
SEED_SIZE: Final = 96  # 32 bytes for X25519, 64 for the ML-KEM-768 seed
_TAG = 16
_MAX_CHUNK = CHUNK_SIZE + _TAG
_FIXED = len(MAGIC) + 1 + 16 + 7 + 2


class Suite(IntEnum):
    """Versioned suites; the instance chooses one in global configuration."""

    X25519_AES256GCM = 1  # DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM
    MLKEM768_X25519_AES256GCM = 2  # post-quantum hybrid KEM, HKDF-SHA256, AES-256-GCM

    @property
    def hpke(self) -> hpke.Suite:
        kem = hpke.KEM.X25519 if self is Suite.X25519_AES256GCM else hpke.KEM.MLKEM768_X25519
        return hpke.Suite(kem, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


def key_id(public_bytes: bytes) -> bytes:
    return hashlib.sha256(public_bytes).digest()[:16]


@dataclass(frozen=True, slots=True)
class RecipientKey:
    """A server's public encryption key as published in global configuration."""

    suite: Suite
    public_bytes: bytes  # X25519: 32 raw bytes; hybrid: ML-KEM-768 (1184) then X25519 (32)

    def validate(self) -> None:
        """Raise `DecryptionFailed` unless the bytes are a public key of the suite."""
        self._public()

    def _public(self) -> x25519.X25519PublicKey | hpke.MLKEM768X25519PublicKey:
        try:
            if self.suite is Suite.X25519_AES256GCM:
                return x25519.X25519PublicKey.from_public_bytes(self.public_bytes)
            return hpke.MLKEM768X25519PublicKey(
                mlkem.MLKEM768PublicKey.from_public_bytes(self.public_bytes[:-32]),
                x25519.X25519PublicKey.from_public_bytes(self.public_bytes[-32:]))
        except ValueError as e:
            raise DecryptionFailed(f"recipient key for suite {self.suite.name} is malformed") from e


@dataclass(frozen=True)
class KeyPair:
    suite: Suite
    private: x25519.X25519PrivateKey | hpke.MLKEM768X25519PrivateKey = field(repr=False)
    public_bytes: bytes

    @property
    def recipient(self) -> RecipientKey:
        return RecipientKey(self.suite, self.public_bytes)


def keypair_from_seed(seed: bytes, suite: Suite) -> KeyPair:
    """Both suites' keys derive from one secret seed kept in the server's token."""
    if len(seed) != SEED_SIZE:
        raise ValueError(f"encryption seed must be {SEED_SIZE} bytes")
    classic = x25519.X25519PrivateKey.from_private_bytes(seed[:32])
    classic_public = classic.public_key().public_bytes_raw()
    if suite is Suite.X25519_AES256GCM:
        return KeyPair(suite, classic, classic_public)
    pq = mlkem.MLKEM768PrivateKey.from_seed_bytes(seed[32:])
    return KeyPair(suite, hpke.MLKEM768X25519PrivateKey(pq, classic),
                   pq.public_key().public_bytes_raw() + classic_public)


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + struct.pack(">I?", counter, last)


def encrypt(chunks: Iterable[bytes], recipient: RecipientKey, context: bytes) -> Iterator[bytes]:
    """Yield the encrypted stream for the plaintext `chunks` (re-chunked to CHUNK_SIZE)."""
    content_key, prefix = AESGCM.generate_key(256), os.urandom(7)
    sealed = recipient.suite.hpke.encrypt(content_key, recipient._public(), info=context)
    header = (MAGIC + bytes([recipient.suite]) + key_id(recipient.public_bytes) + prefix
              + struct.pack(">H", len(sealed)) + sealed)
    aad = header + context
    yield header
    aead = AESGCM(content_key)
    for counter, (piece, last) in enumerate(_pieces(chunks, CHUNK_SIZE)):
        yield _frame(aead.encrypt(_nonce(prefix, counter, last), piece, aad))


def _pieces(chunks: Iterable[bytes], size: int) -> Iterator[tuple[bytes, bool]]:
    """Re-cut `chunks` into pieces of `size` bytes (the last may be shorter or empty), each
    with a flag saying whether it is the last. Input bytes are copied once, whatever the
    sizes of the incoming chunks."""
    buffer = bytearray()
    held: bytes | None = None  # a full piece, until we know whether more data follows
    for chunk in chunks:
        view = memoryview(chunk)
        while view:
            take = size - len(buffer)
            buffer += view[:take]
            view = view[take:]
            if len(buffer) == size:
                if held is not None:
                    yield held, False
                held = bytes(buffer)
                buffer.clear()
    if held is not None and not buffer:
        yield held, True
        return
    if held is not None:
        yield held, False
    yield bytes(buffer), True


def _frame(ciphertext: bytes) -> bytes:
    return struct.pack(">I", len(ciphertext)) + ciphertext


class Decryptor:
    """Incremental decryption: feed bytes as they arrive, get plaintext, then `finish()`."""

    def __init__(self, keys: Mapping[bytes, KeyPair], context: bytes) -> None:
        self._keys, self._context = keys, context
        self._buffer = b""
        self._aead: AESGCM | None = None
        self._prefix = self._aad = b""
        self._counter = 0
        self._done = False

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        out: list[bytes] = []
        if self._aead is None and not self._read_header():
            return out
        view, at = memoryview(self._buffer), 0  # walk by offset: no copy per chunk
        while len(view) - at >= 4:
            (size,) = struct.unpack_from(">I", view, at)
            if size > _MAX_CHUNK or size < _TAG:
                raise DecryptionFailed("encrypted chunk has an impossible length")
            if len(view) - at < 4 + size:
                break
            if self._done:
                raise DecryptionFailed("data after the last encrypted chunk")
            out.append(self._open(bytes(view[at + 4:at + 4 + size])))
            at += 4 + size
        self._buffer = bytes(view[at:])
        return out

    def _open(self, ciphertext: bytes) -> bytes:
        if self._aead is None:
            raise DecryptionFailed("encrypted chunk before the header")
        for last in (False, True):
            try:
                plain = self._aead.decrypt(_nonce(self._prefix, self._counter, last), ciphertext,
                                           self._aad)
            except InvalidTag:
                continue
            self._counter += 1
            self._done = last
            return plain
        raise DecryptionFailed(f"encrypted chunk {self._counter} was altered or re-ordered")

    def _read_header(self) -> bool:
        if len(self._buffer) < _FIXED:
            return False
        if self._buffer[:4] != MAGIC:
            raise DecryptionFailed("not an encrypted message of a known version")
        try:
            suite = Suite(self._buffer[4])
        except ValueError as e:
            raise DecryptionFailed(f"unknown encryption suite {self._buffer[4]}") from e
        kid, prefix = self._buffer[5:21], self._buffer[21:28]
        (sealed_len,) = struct.unpack(">H", self._buffer[28:30])
        if len(self._buffer) < _FIXED + sealed_len:
            return False
        header = self._buffer[:_FIXED + sealed_len]
        pair = self._keys.get(kid)
        if pair is None or pair.suite is not suite:
            raise DecryptionFailed("message is encrypted to a key this server does not hold")
        try:
            content_key = suite.hpke.decrypt(header[_FIXED:], pair.private, info=self._context)
        except (InvalidTag, ValueError) as e:
            raise DecryptionFailed("content key cannot be unsealed (wrong key or context)") from e
        self._aead, self._prefix, self._aad = AESGCM(content_key), prefix, header + self._context
        self._buffer = self._buffer[len(header):]
        return True

    def finish(self) -> None:
        if not self._done or self._buffer:
            raise DecryptionFailed("encrypted message is truncated")


def decrypt(data: bytes, keys: Mapping[bytes, KeyPair], context: bytes) -> bytes:
    decryptor = Decryptor(keys, context)
    plain = b"".join(decryptor.feed(data))
    decryptor.finish()
    return plain
