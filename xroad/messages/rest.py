"""REST message protocol r1: the path, the X-Road headers, and the header parts (pure)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from xroad.errors import BadRequest, InvalidMessage, InvalidServiceIdentifier
from xroad.identifiers import ClientId, ServiceId, decode_path_segment
from xroad.messages import untrusted_json as uj

REQUEST_CONTENT_TYPE: Final = "application/x-road-rest-request"
RESPONSE_CONTENT_TYPE: Final = "application/x-road-rest-response"
BODY_CONTENT_TYPE: Final = "application/x-road-rest-body"

# Hop-by-hop headers, headers that leak the origin, and the ones the bus sets itself.
_DROPPED: Final = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "host", "user-agent", "server", "content-length", "expect",
    "date",
})


def keep_header(name: str) -> bool:
    lower = name.lower()
    return lower not in _DROPPED and not lower.startswith("x-road-")


def filter_headers(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Drop hop-by-hop headers, including those a `Connection` header names (RFC 9110 §7.6.1)."""
    items = list(headers)
    named = {token.strip().lower() for k, v in items if k.lower() == "connection"
             for token in v.split(",")}
    return tuple((k, v) for k, v in items if keep_header(k) and k.lower() not in named)


_URI_CHARS: Final = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*")
_PCT: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")


def check_uri_text(path: str, query: str) -> None:
    """Path and query travel to the provider byte for byte: they must be proper URI text
    (RFC 3986 characters, well-formed percent-encoding)."""
    for label, text in (("path", path), ("query", query)):
        if not _URI_CHARS.fullmatch(text) or _PCT.search(text):
            raise BadRequest(f"request {label} is not valid percent-encoded URI text")


def parse_r1_path(raw_path: str) -> tuple[ServiceId, str]:
    """Split a raw (still percent-encoded) `/r1/...` path into the service and the rest.

    Each identifier segment is decoded on its own, so `%2F` never splits a segment.
    """
    segments = raw_path.split("/")
    if len(segments) < 7 or segments[0] != "" or segments[1] != "r1":
        raise BadRequest(f"not an r1 service path: {raw_path[:200]!r}")
    try:
        ids = [decode_path_segment(s) for s in segments[2:7]]
    except UnicodeDecodeError as e:
        raise BadRequest("service identifier is not valid UTF-8") from e
    try:
        service = ServiceId(ClientId(*ids[:4]), ids[4])
    except InvalidMessage as e:
        raise InvalidServiceIdentifier(str(e)) from e
    rest = segments[7:]
    return service, ("/" + "/".join(rest)) if rest else ""


@dataclass(frozen=True, slots=True)
class RestRequest:
    """What the client IS asked for; the header part of a REST message between servers."""

    method: str
    service: ServiceId
    path: str  # percent-encoded, appended to the service's base URL
    query: str  # raw query string without '?'
    client: ClientId
    message_id: str
    user_id: str | None
    issue: str | None
    represented_party: str | None
    headers: tuple[tuple[str, str], ...]

    def encode(self) -> bytes:
        return json.dumps({
            "method": self.method, "service": str(self.service), "path": self.path,
            "query": self.query, "client": str(self.client), "id": self.message_id,
            "user_id": self.user_id, "issue": self.issue,
            "represented_party": self.represented_party,
            "headers": [list(h) for h in self.headers],
        }, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes) -> RestRequest:
        try:
            doc = uj.obj(uj.loads(data))
            return cls(
                method=uj.text(doc, "method"), service=ServiceId.parse(uj.text(doc, "service")),
                path=uj.text(doc, "path"), query=uj.text(doc, "query"),
                client=ClientId.parse(uj.text(doc, "client")), message_id=uj.text(doc, "id"),
                user_id=uj.optional_text(doc, "user_id"), issue=uj.optional_text(doc, "issue"),
                represented_party=uj.optional_text(doc, "represented_party"),
                headers=uj.pairs(doc, "headers"),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise InvalidMessage(f"REST request part is malformed: {e}") from e


@dataclass(frozen=True, slots=True)
class RestResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    request_hash: str

    def encode(self) -> bytes:
        return json.dumps({"status": self.status, "headers": [list(h) for h in self.headers],
                           "request_hash": self.request_hash},
                          ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes) -> RestResponse:
        try:
            doc = uj.obj(uj.loads(data))
            return cls(uj.integer(doc, "status"), uj.pairs(doc, "headers"),
                       uj.text(doc, "request_hash"))
        except (KeyError, TypeError, ValueError) as e:
            raise InvalidMessage(f"REST response part is malformed: {e}") from e


def request_hash(header_part: bytes, body: bytes) -> str:
    """`X-Road-Request-Hash`: base64 SHA-512 over the digests of the header part and the body."""
    inner = hashlib.sha512(header_part).digest() + hashlib.sha512(body).digest()
    return base64.b64encode(hashlib.sha512(inner).digest()).decode()
