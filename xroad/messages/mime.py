"""SOAP with Attachments and MTOM (`multipart/related`) as clients send them (pure).

Parts are located, not re-encoded: the message travels between security servers byte for
byte, so every attachment keeps its MIME headers and bytes. Only the SOAP part is looked
into (for routing and `requestHash`), and a response's SOAP part can be replaced in place.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from email.message import Message
from typing import Final

from xroad.errors import InvalidMessage

MAX_PARTS: Final = 128
_SOAP_TYPES: Final = ("text/xml", "application/xop+xml")


@dataclass(frozen=True, slots=True)
class MimePart:
    headers: tuple[tuple[str, str], ...]
    start: int  # the body's offsets in the whole message
    end: int

    def header(self, name: str) -> str | None:
        lower = name.lower()
        return next((v for k, v in self.headers if k.lower() == lower), None)


def _params(content_type: str) -> Message:
    message = Message()
    message["Content-Type"] = content_type
    return message


def is_multipart_related(content_type: str) -> bool:
    return content_type.split(";", maxsplit=1)[0].strip().lower() == "multipart/related"


def split(content_type: str, body: bytes) -> list[MimePart]:
    """The parts of a `multipart/related` body, the SOAP part first."""
    boundary = _params(content_type).get_param("boundary")
    if not isinstance(boundary, str) or not 0 < len(boundary) <= 70:
        raise InvalidMessage("multipart/related message without a valid boundary")
    delimiter = b"--" + boundary.encode("ascii", errors="strict")
    positions = [m.start() for m in re.finditer(re.escape(delimiter), body)
                 if m.start() == 0 or body[m.start() - 2:m.start()] == b"\r\n"]
    if len(positions) < 2:
        raise InvalidMessage("multipart/related message has no parts")
    if not body[positions[-1] + len(delimiter):].startswith(b"--"):
        raise InvalidMessage("multipart/related message is truncated (no closing boundary)")
    if len(positions) - 1 > MAX_PARTS:
        raise InvalidMessage(f"more than {MAX_PARTS} MIME parts")
    parts = []
    for begin, following in itertools.pairwise(positions):
        line_end = body.find(b"\r\n", begin)
        header_end = body.find(b"\r\n\r\n", line_end)
        if line_end < 0 or header_end < 0 or header_end >= following:
            raise InvalidMessage("MIME part without a header section")
        parts.append(MimePart(_headers(body[line_end + 2:header_end]), header_end + 4,
                              following - 2))
    root = parts[0].header("Content-Type") or ""
    if root.split(";")[0].strip().lower() not in _SOAP_TYPES:
        raise InvalidMessage(f"the first MIME part is {root!r}, not the SOAP message")
    return parts


def _headers(block: bytes) -> tuple[tuple[str, str], ...]:
    headers = []
    for line in block.split(b"\r\n") if block else []:
        name, colon, value = line.decode("latin-1").partition(":")
        if not colon or not name or name != name.strip():
            raise InvalidMessage("malformed MIME part header")
        headers.append((name, value.strip()))
    return tuple(headers)


def soap_of(content_type: str, body: bytes) -> tuple[bytes, str]:
    """The SOAP message's bytes and content type, whether it came alone or with attachments."""
    if not is_multipart_related(content_type):
        return body, content_type
    root = split(content_type, body)[0]
    return body[root.start:root.end], root.header("Content-Type") or ""


def replace_soap_part(content_type: str, body: bytes, new_soap: bytes) -> bytes:
    """`body` with its SOAP part's bytes replaced, everything else untouched."""
    parts = split(content_type, body)
    boundary = str(_params(content_type).get_param("boundary")).encode()
    if boundary in new_soap:
        raise InvalidMessage("the new SOAP part contains the MIME boundary")
    return body[:parts[0].start] + new_soap + body[parts[0].end:]
