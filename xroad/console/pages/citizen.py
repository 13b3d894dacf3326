"""'Who looked at my data': the agencies, services, times and purposes of every query about a
register number, from the data-access API of every security server.

A citizen sees only the register number bound to their account (the data-access key: requests
only, no official's user id, embargoes honoured); an auditor may look up any number with the
auditor key, and every such lookup is logged with who made it. Both sides of an exchange
record it, so one query is listed once, with the servers that recorded it.
"""

# No `from __future__ import annotations`: FastAPI reads the dependencies' annotations.

import asyncio
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Final

import structlog
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse

from xroad.console.central import CentralError
from xroad.console.server_pages import server_client
from xroad.console.servers import ServerApiError
from xroad.console.web import ConsoleUser, Role, console, render, require

log = structlog.get_logger(__name__)
router = APIRouter()

Viewer = Annotated[ConsoleUser, Depends(require(Role.CITIZEN, Role.AUDITOR))]
PAGE: Final = 500
MAX_PAGES: Final = 4  # per server: the newest 2000 queries are plenty for one person
SAME_EXCHANGE_S: Final = 10.0  # both sides' records of one query lie this close in time
# Two Cyrillic (or Latin, as typed) letters and eight digits: the register number's shape.
REGISTER_NUMBER: Final = re.compile(r"[А-ЯЁӨҮа-яёөүA-Za-z]{2}[0-9]{8}")


@dataclass
class Access:
    """One query about the person, as one or more security servers recorded it."""

    at: str
    agency: str
    agency_name: str | None
    service: str
    purpose: str | None
    outcome: str
    recorded_by: list[str] = field(default_factory=list)


def _time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def merge(found: list[tuple[str, dict[str, Any]]], names: dict[str, str]) -> list[Access]:
    """(server, access) pairs as one row per query, newest first (pure)."""
    rows: list[Access] = []
    for server, a in sorted(found, key=lambda p: str(p[1].get("at", ""))):
        at = _time(str(a.get("at", "")))
        same = next((r for r in rows if server not in r.recorded_by
                     and (r.agency, r.service, r.purpose, r.outcome)
                     == (a["agency"], a["service"], a.get("purpose"), a["outcome"])
                     and at is not None and (t := _time(r.at)) is not None
                     and abs((at - t).total_seconds()) <= SAME_EXCHANGE_S), None)
        if same is not None:
            same.recorded_by.append(server)
            continue
        member = "/".join(str(a["agency"]).split("/")[:3])
        rows.append(Access(str(a.get("at", "")), str(a["agency"]), names.get(member),
                           str(a["service"]), a.get("purpose"), str(a["outcome"]), [server]))
    rows.reverse()
    return rows


async def _member_names(request: Request) -> dict[str, str]:
    """Member names from the central server's public registry view (global configuration
    publishes them anyway); none if it cannot be reached: the ids still say who asked."""
    try:
        members = await console(request).central.get(None, "/members")
    except CentralError as e:  # names are a nicety; the page works without them
        log.warning("console.member_names_unavailable", reason=type(e).__name__)
        return {}
    return {str(m["id"]): str(m["name"]) for m in members if isinstance(m, dict)
            and "id" in m and "name" in m}


async def _accesses(request: Request, user: ConsoleUser, number: str
                    ) -> tuple[list[tuple[str, dict[str, Any]]], list[ServerApiError]]:
    ctx = console(request)

    async def one(link: Any) -> list[tuple[str, dict[str, Any]]]:
        api = server_client(ctx, link, "citizen", user.role)
        found: list[tuple[str, dict[str, Any]]] = []
        after = None
        for _ in range(MAX_PAGES):
            page = await api.data_access(number, after=after, limit=PAGE)
            found.extend((link.id, a) for a in page.items)
            if page.next_after is None:
                break
            after = page.next_after
        return found

    results = await asyncio.gather(*(one(s) for s in ctx.servers), return_exceptions=True)
    found, errors = [], []
    for result in results:
        if isinstance(result, ServerApiError):
            errors.append(result)
        elif isinstance(result, BaseException):
            raise result
        else:
            found.extend(result)
    return found, errors


@router.get("/citizen", response_class=HTMLResponse)
async def citizen_page(request: Request, user: Viewer,
                       register_number: Annotated[str, Query(max_length=64)] = ""
                       ) -> Response:
    if user.role == Role.CITIZEN:
        number = user.register_number or ""
    else:
        number = register_number.strip().upper()
    context: dict[str, Any] = {"number": number, "accesses": None, "errors": [],
                               "invalid": False, "own": user.role == Role.CITIZEN}
    if not number:
        return render(request, "citizen/view.html", context)
    if not REGISTER_NUMBER.fullmatch(number):
        context["invalid"] = True
        return render(request, "citizen/view.html", context, 400)
    if user.role == Role.AUDITOR:
        # Accountability without spreading the number: its hash identifies it in an inquiry.
        log.info("console.citizen_lookup", username=user.username,
                 subject_sha256=hashlib.sha256(number.encode()).hexdigest()[:16])
    (found, errors), names = await asyncio.gather(_accesses(request, user, number),
                                                  _member_names(request))
    context |= {"accesses": merge(found, names), "errors": [str(e) for e in errors]}
    return render(request, "citizen/view.html", context)
