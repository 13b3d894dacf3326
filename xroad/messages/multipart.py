"""A strict `multipart/mixed` codec for messages between security servers (pure).

Each part carries exactly one header, `Content-Type`; the part's bytes are kept exactly as
received so digests are computed over what was sent.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from xroad.errors import InvalidMessage

MAX_PARTS: Final = 16
_BOUNDARY = re.compile(r'boundary="?([A-Za-z0-9\'()+_,\-./:=?]{1,70})"?')


@dataclass(frozen=True, slots=True)
class Part:
    content_type: str
    data: bytes


def encode(parts: Sequence[Part]) -> tuple[str, bytes]:
    """Return the `Content-Type` header value and the body."""
    content_type, pieces = encode_stream(parts)
    return content_type, b"".join(pieces)


def encode_stream(parts: Sequence[Part]) -> tuple[str, Iterator[bytes]]:
    """The `Content-Type` and the body as pieces, without copying the parts' bytes."""
    while True:
        boundary = "xrb-" + secrets.token_hex(16)
        marker = boundary.encode()
        if not any(marker in p.data for p in parts):
            break
    for part in parts:
        if "\r" in part.content_type or "\n" in part.content_type:
            raise ValueError("content type must be one line")

    def pieces() -> Iterator[bytes]:
        for part in parts:
            yield b"--" + marker + b"\r\nContent-Type: " + part.content_type.encode() + (
                b"\r\n\r\n")
            yield part.data
            yield b"\r\n"
        yield b"--" + marker + b"--\r\n"

    return f"multipart/mixed; boundary={boundary}", pieces()


def decode(content_type: str, body: bytes) -> list[Part]:
    if not content_type.lower().startswith("multipart/mixed"):
        raise InvalidMessage(f"expected multipart/mixed, got {content_type!r}")
    match = _BOUNDARY.search(content_type)
    if match is None:
        raise InvalidMessage("multipart message without boundary")
    delimiter = b"--" + match.group(1).encode()
    if not body.startswith(delimiter + b"\r\n"):
        raise InvalidMessage("multipart body does not start with its boundary")
    end = body.rfind(b"\r\n" + delimiter + b"--")
    if end < 0 or body[end + len(delimiter) + 4:] not in (b"", b"\r\n"):
        raise InvalidMessage("multipart body is truncated")
    segments = body[len(delimiter) + 2:end].split(b"\r\n" + delimiter + b"\r\n")
    if len(segments) > MAX_PARTS:
        raise InvalidMessage(f"more than {MAX_PARTS} parts")
    parts = []
    for segment in segments:
        head, sep, data = segment.partition(b"\r\n\r\n")
        if not sep:
            raise InvalidMessage("multipart part without header")
        try:
            line = head.decode("ascii")
        except UnicodeDecodeError as e:
            raise InvalidMessage("multipart part header is not ASCII") from e
        name, colon, value = line.partition(":")
        if not colon or name.strip().lower() != "content-type" or "\r" in value or (
                "\n" in value):
            raise InvalidMessage("multipart part must carry exactly one Content-Type header")
        parts.append(Part(value.strip(), data))
    return parts


class StreamDecoder:
    """`decode` for a body that arrives in pieces: only the part being read is buffered, so a
    message is never held whole next to its parts."""

    _MAX_HEADER = 8 * 1024

    def __init__(self, content_type: str) -> None:
        if not content_type.lower().startswith("multipart/mixed"):
            raise InvalidMessage(f"expected multipart/mixed, got {content_type!r}")
        match = _BOUNDARY.search(content_type)
        if match is None:
            raise InvalidMessage("multipart message without boundary")
        self._delimiter = b"--" + match.group(1).encode()
        self._marker = b"\r\n" + self._delimiter
        self._buffer = bytearray()
        self._searched = 0  # body bytes already searched for the marker
        self._state = "preamble"
        self._content_type = ""
        self.parts: list[Part] = []

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while self._step():
            pass

    def _step(self) -> bool:
        buffer = self._buffer
        if self._state == "preamble":
            opening = self._delimiter + b"\r\n"
            if len(buffer) < len(opening):
                return False
            if not buffer.startswith(opening):
                raise InvalidMessage("multipart body does not start with its boundary")
            del buffer[:len(opening)]
            self._state = "headers"
            return True
        if self._state == "headers":
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > self._MAX_HEADER:
                    raise InvalidMessage("multipart part header is too long")
                return False
            self._content_type = _content_type_of(bytes(buffer[:end]))
            del buffer[:end + 4]
            self._state, self._searched = "body", 0
            return True
        if self._state == "body":
            return self._body()
        if bytes(buffer) not in (b"", b"\r", b"\r\n"):
            raise InvalidMessage("data after the closing boundary")
        return False

    def _body(self) -> bool:
        buffer, size = self._buffer, len(self._marker)
        at = buffer.find(self._marker, max(0, self._searched - size))
        if at < 0:
            self._searched = len(buffer)  # the next search overlaps the tail only
            return False
        if len(buffer) < at + size + 2:
            self._searched = at  # found, but what follows has not arrived yet
            return False
        follow = bytes(buffer[at + size:at + size + 2])
        if follow not in (b"\r\n", b"--"):
            self._searched = at + size  # the boundary text inside the data: keep looking
            return True
        self.parts.append(Part(self._content_type, bytes(buffer[:at])))
        if len(self.parts) > MAX_PARTS:
            raise InvalidMessage(f"more than {MAX_PARTS} parts")
        del buffer[:at + size + 2]
        self._state = "headers" if follow == b"\r\n" else "done"
        return True

    def finish(self) -> list[Part]:
        if self._state != "done" or bytes(self._buffer) not in (b"", b"\r\n"):
            raise InvalidMessage("multipart body is truncated")
        return self.parts


def _content_type_of(head: bytes) -> str:
    try:
        line = head.decode("ascii")
    except UnicodeDecodeError as e:
        raise InvalidMessage("multipart part header is not ASCII") from e
    name, colon, value = line.partition(":")
    if not colon or name.strip().lower() != "content-type" or "\r" in value or "\n" in value:
        raise InvalidMessage("multipart part must carry exactly one Content-Type header")
    return value.strip()
