"""Shared HTTP helper of the dev PKI services."""

from __future__ import annotations

from fastapi import Request


async def read_at_most(request: Request, limit: int) -> bytes | None:
    """The request body, or None once it exceeds `limit` bytes (read no further)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)
