"""Opening an encrypted message as it arrives: decrypt, split into parts, bound the size."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from xroad import errors
from xroad.encryption import Decryptor, KeyPair
from xroad.messages import multipart
from xroad.messages.multipart import Part


async def open_parts(chunks: AsyncIterator[bytes], keys: Mapping[bytes, KeyPair],
                     inner_type: str, context: bytes, limit: int) -> list[Part]:
    """Neither the ciphertext nor the whole plaintext is ever held, only the parts. The part
    reader is made once something decrypts, so a bad key or stream is what gets reported."""
    decryptor = Decryptor(keys, context)
    parts: multipart.StreamDecoder | None = None
    received = 0
    async for chunk in chunks:
        received += len(chunk)
        if received > limit:
            raise errors.MessageTooLarge(f"message exceeds {limit} bytes")
        for piece in decryptor.feed(chunk):
            parts = parts or multipart.StreamDecoder(inner_type)
            parts.feed(piece)
    decryptor.finish()
    return (parts or multipart.StreamDecoder(inner_type)).finish()
