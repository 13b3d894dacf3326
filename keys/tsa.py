"""Ask a time-stamping authority (RFC 3161 over HTTP) to stamp a digest.

Only the network exchange lives here; `xroad.signing.timestamp` checks the reply (status,
nonce, messageImprint) and, with the trusted CAs, the token itself.
"""

from __future__ import annotations

import secrets
from typing import Final, Literal

import httpx
from asn1crypto import tsp

from xroad.errors import TransportError
from xroad.signing.timestamp import HASHES, token_from_reply

QUERY_MEDIA_TYPE: Final = "application/timestamp-query"
REPLY_MEDIA_TYPE: Final = "application/timestamp-reply"

HashName = Literal["sha256", "sha384", "sha512"]


def timestamp_query(digest: bytes, hash_alg: HashName, nonce: int) -> bytes:
    """DER TimeStampReq asking for the TSA certificate to be included (certReq)."""
    if len(digest) != HASHES[hash_alg]().digest_size:
        raise ValueError(f"a {hash_alg} digest has {HASHES[hash_alg]().digest_size} bytes")
    query: bytes = tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": hash_alg}, "hashed_message": digest},
        "nonce": nonce,
        "cert_req": True,
    }).dump()
    return query


def request_timestamp(url: str, digest: bytes, hash_alg: HashName = "sha512",
                      timeout: float = 10.0) -> bytes:
    """DER TimeStampToken for `digest` from the TSA at `url`; verify it with `verify_timestamp`.

    Raises `TransportError` if the TSA cannot be reached or answers something else than a
    time-stamp reply, `TimestampRejected`/`TimestampError` if the reply refuses or mismatches.
    """
    nonce = secrets.randbits(64)
    try:
        reply = httpx.post(url, content=timestamp_query(digest, hash_alg, nonce),
                           headers={"Content-Type": QUERY_MEDIA_TYPE}, timeout=timeout)
    except httpx.TimeoutException as e:
        raise TransportError(f"TSA {url}: no answer in time") from e
    except httpx.HTTPError as e:
        raise TransportError(f"TSA {url}: {type(e).__name__}") from e
    if reply.headers.get("content-type", "").split(";")[0].strip() != REPLY_MEDIA_TYPE:
        raise TransportError(f"TSA {url}: HTTP {reply.status_code}, not a time-stamp reply")
    return token_from_reply(reply.content, digest, nonce)
