"""Replay protection (X-Road does not enforce it; we do).

A signed request is accepted only if it was signed within `max_skew` of the receiver's clock
and its message id has not been seen from the same client within the window. Together the two
rules bound the memory needed: an id older than the skew is refused by time anyway.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from xroad.clock import require_aware
from xroad.errors import ClockSkew


class ReplayGuard(Protocol):
    async def remember(self, client: str, message_id: str, at: datetime) -> None:
        """Record the id; raise `ReplayedMessage` if this client used it within the window."""
        ...


def check_signing_time(signed_at: datetime, at: datetime, max_skew: timedelta) -> None:
    require_aware(signed_at)
    require_aware(at)
    if signed_at < at - max_skew:
        raise ClockSkew(f"message was signed at {signed_at.isoformat()}, more than "
                        f"{max_skew.total_seconds():.0f} s ago")
    if signed_at > at + max_skew:
        raise ClockSkew(f"message is signed {signed_at.isoformat()}, in the future beyond "
                        f"{max_skew.total_seconds():.0f} s: check the clocks")
