"""Members: list and search members, subsystems and security servers; a member's detail with
its subsystems, servers, authentication certificates (flagged before they expire) and the
services its subsystems offer; administrators register members and subsystems.

Registry data comes from the central admin API with the key of the user's own role; the
services from the security servers' access rights, read with a read-only key (an auditor's
own auditor key, for others the observer key).
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations.

from datetime import datetime, timedelta
from typing import Annotated, Any, Final
from urllib.parse import quote

import httpx
import structlog
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from xroad.console.central import CentralError
from xroad.console.forms import FormErrors, identifier_part, required_text
from xroad.console.roles import REGISTRY_READERS
from xroad.console.web import (
    ConsoleContext,
    ConsoleUser,
    Role,
    check_csrf,
    console,
    form_fields,
    render,
    require,
    see_other,
)
from xroad.identifiers import is_identifier_part

log = structlog.get_logger(__name__)
router = APIRouter()

Reader = Annotated[ConsoleUser, Depends(require(*REGISTRY_READERS))]
Admin = Annotated[ConsoleUser, Depends(require(Role.ADMINISTRATOR))]
_MAX_QUERY: Final = 200


def _matches(query: str, *texts: object) -> bool:
    return not query or any(query in str(t).casefold() for t in texts)


async def _list_page(request: Request, user: ConsoleUser, *, form: dict[str, str] | None = None,
                     errors: FormErrors | None = None, status_code: int = 200) -> HTMLResponse:
    ctx = console(request)
    query = request.query_params.get("q", "")[:_MAX_QUERY].strip()
    folded = query.casefold()
    members = await ctx.central.get(user.role, "/api/v1/members")
    servers = await ctx.central.get(user.role, "/api/v1/security-servers")
    classes = await ctx.central.get(user.role, "/api/v1/member-classes")
    shown = [m for m in members
             if _matches(folded, m["id"], m["name"], *m["subsystems"], *m["servers"])]
    shown_servers = [s for s in servers if _matches(
        folded, s["id"], s["address"], *(c["client"] for c in s["clients"]))]
    instance = members[0]["id"].split("/")[0] if members else ""
    return render(request, "members/list.html", {
        "query": query, "members": shown, "total": len(members), "servers": shown_servers,
        "class_options": [(c["code"], c["code"]) for c in classes], "instance": instance,
        "form": form or {}, "errors": errors or FormErrors()}, status_code)


@router.get("/members", response_class=HTMLResponse)
async def list_members(request: Request, user: Reader) -> HTMLResponse:
    return await _list_page(request, user)


@router.post("/members", response_class=HTMLResponse)
async def add_member(request: Request, user: Admin,
                     _: Annotated[None, Depends(check_csrf)]) -> Response:
    ctx = console(request)
    fields = await form_fields(request)
    errors = FormErrors()
    member_class = identifier_part(errors, fields, "member_class")
    member_code = identifier_part(errors, fields, "member_code")
    name = required_text(errors, fields, "name")
    if not errors:
        try:
            await ctx.central.post(user.role, "/api/v1/members", {
                "member_class": member_class, "member_code": member_code, "name": name})
        except CentralError as e:
            if e.status >= 500:
                raise
            errors.general = e.message
        else:
            log.info("console.member_added", username=user.username,
                     member=f"{member_class}/{member_code}")
            return see_other(f"/members/{quote(member_class, safe='')}/"
                             f"{quote(member_code, safe='')}?notice=notice.member_added")
    return await _list_page(request, user, form=fields, errors=errors, status_code=400)


def _member_path(member_class: str, member_code: str) -> tuple[str, str]:
    if not (is_identifier_part(member_class) and is_identifier_part(member_code)):
        raise HTTPException(404)  # never an identifier of this registry
    return member_class, member_code


def cert_status(not_after: str | None, now: datetime, warning_days: int) -> tuple[str, int]:
    """("expired" | "expiring" | "ok" | "unknown", whole days left)."""
    if not not_after:
        return "unknown", 0
    try:
        until = datetime.fromisoformat(not_after)
    except ValueError:
        return "unknown", 0
    left = until - now
    if left <= timedelta(0):
        return "expired", 0
    if left < timedelta(days=warning_days):
        return "expiring", left.days
    return "ok", left.days


async def _certificates(ctx: ConsoleContext, user: ConsoleUser, servers: list[str]
                        ) -> list[dict[str, Any]]:
    now = ctx.clock.now()
    found = []
    for server in servers:
        for cert in await ctx.central.get(user.role, "/api/v1/security-servers/auth-certs",
                                          server=server):
            status, days = cert_status(cert.get("not_after"), now,
                                       ctx.settings.cert_warning_days)
            found.append({**cert, "server": server, "status": status, "days": days})
    return found


async def _services(ctx: ConsoleContext, user: ConsoleUser, member_id: str
                    ) -> tuple[list[dict[str, str]], list[str]]:
    """Services of the member's subsystems named in the security servers' access rights,
    and the servers that could not be asked."""
    key_file = "auditor-api-key" if user.role is Role.AUDITOR else "observer-api-key"
    services: dict[tuple[str, str], dict[str, str]] = {}
    problems = []
    for link in ctx.servers:
        try:
            reply = await ctx.http.get(f"{link.admin_url}/api/v1/access-rights", headers={
                "Authorization": f"X-Road-ApiKey token={link.key(key_file)}"})
            rights = reply.json() if reply.status_code == 200 else None
        except (OSError, httpx.HTTPError, ValueError):
            rights = None
        if not isinstance(rights, list):
            problems.append(link.id)
            continue
        for right in rights:
            service = str(right.get("service", ""))
            parts = service.split("/")
            if len(parts) == 5 and "/".join(parts[:3]) == member_id:
                services[(service, link.id)] = {
                    "service": service, "subsystem": "/".join(parts[:4]),
                    "code": parts[4], "server": link.id}
    return sorted(services.values(), key=lambda s: (s["service"], s["server"])), problems


async def _detail_page(request: Request, user: ConsoleUser, member_class: str,
                       member_code: str, *, form: dict[str, str] | None = None,
                       errors: FormErrors | None = None, status_code: int = 200
                       ) -> HTMLResponse:
    ctx = console(request)
    member = await ctx.central.get(
        user.role, f"/api/v1/members/{quote(member_class, safe='')}/{quote(member_code, safe='')}")
    certificates = await _certificates(ctx, user, [s["id"] for s in member["owned_servers"]])
    services, unreachable = await _services(ctx, user, member["id"])
    return render(request, "members/detail.html", {
        "member": member, "certificates": certificates, "services": services,
        "unreachable": unreachable, "form": form or {}, "errors": errors or FormErrors()},
        status_code)


@router.get("/members/{member_class}/{member_code}", response_class=HTMLResponse)
async def member_detail(request: Request, member_class: str, member_code: str,
                        user: Reader) -> HTMLResponse:
    return await _detail_page(request, user, *_member_path(member_class, member_code))


@router.post("/members/{member_class}/{member_code}/subsystems", response_class=HTMLResponse)
async def add_subsystem(request: Request, member_class: str, member_code: str, user: Admin,
                        _: Annotated[None, Depends(check_csrf)]) -> Response:
    ctx = console(request)
    member_class, member_code = _member_path(member_class, member_code)
    fields = await form_fields(request)
    errors = FormErrors()
    code = identifier_part(errors, fields, "subsystem_code")
    if not errors:
        try:
            await ctx.central.post(
                user.role, f"/api/v1/members/{quote(member_class, safe='')}/"
                f"{quote(member_code, safe='')}/subsystems", {"subsystem_code": code})
        except CentralError as e:
            if e.status >= 500:
                raise
            errors.general = e.message
        else:
            log.info("console.subsystem_added", username=user.username,
                     subsystem=f"{member_class}/{member_code}/{code}")
            return see_other(f"/members/{quote(member_class, safe='')}/"
                             f"{quote(member_code, safe='')}?notice=notice.subsystem_added")
    return await _detail_page(request, user, member_class, member_code, form=fields,
                              errors=errors, status_code=400)
