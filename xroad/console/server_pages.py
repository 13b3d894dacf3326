"""What the security-server pages (audit, traffic, citizen view, access rights) share: which
server a request names, which of its API keys a console role uses, and form input checks.

The key table is the console's least-privilege rule for security servers: an operator changes
access rights with the service administrator key, everyone else only reads with the weakest
key that answers (observer for configuration and traffic, auditor for the log, data-access for
a citizen's own view).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from fastapi import HTTPException

from xroad.console.roles import Role
from xroad.console.servers import (
    ADMIN_KEY,
    AUDITOR_KEY,
    DATA_ACCESS_KEY,
    OBSERVER_KEY,
    SecurityServerClient,
    client_for,
)
from xroad.console.web import ConsoleContext, ServerLink

# (what for, console role) -> the security server's API key file.
KEYS: Final = {
    ("access-rights", Role.SECURITY_SERVER_OPERATOR): ADMIN_KEY,
    ("access-rights", Role.ADMINISTRATOR): OBSERVER_KEY,
    ("traffic", Role.SECURITY_SERVER_OPERATOR): OBSERVER_KEY,
    ("traffic", Role.ADMINISTRATOR): OBSERVER_KEY,
    ("traffic", Role.AUDITOR): AUDITOR_KEY,
    ("audit", Role.AUDITOR): AUDITOR_KEY,
    ("citizen", Role.AUDITOR): AUDITOR_KEY,
    ("citizen", Role.CITIZEN): DATA_ACCESS_KEY,
}
MAX_FIELD: Final = 512


def pick_server(ctx: ConsoleContext, server_id: str | None) -> ServerLink:
    """The server named in the request (the first configured one by default)."""
    if not ctx.servers:
        raise HTTPException(404, "the console knows no security server")
    if not server_id:
        return ctx.servers[0]
    found = ctx.server(server_id)
    if found is None:
        raise HTTPException(404, f"no security server {server_id!r}")
    return found


def server_client(ctx: ConsoleContext, link: ServerLink, use: str,
                  role: Role) -> SecurityServerClient:
    """A client with the key `role` uses for `use`; a role without one is a bug (the page's
    `require(...)` lets only the roles of this table in), so it fails loudly."""
    return client_for(link, KEYS[(use, role)], ctx.http)


def field(value: str | None) -> str | None:
    """A trimmed form value, None when empty; longer than the APIs accept is a 400."""
    if value is None or not value.strip():
        return None
    if len(value) > MAX_FIELD:
        raise HTTPException(400, "a form field is too long")
    return value.strip()


def iso_time(value: str | None) -> str | None:
    """A time from a form (`datetime-local` gives no zone: read as UTC) in ISO 8601 with zone,
    as the auditor API wants; None when empty; a bad value is a 400."""
    text = field(value)
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as e:
        raise HTTPException(400, f"not a time: {text!r}") from e
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).isoformat()
