"""The home page: a short dashboard for the signed-in role (registry figures for those who may
read the registry, the configuration's version and expiry for staff, links for the rest)."""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from xroad.console.central import CentralError
from xroad.console.roles import REGISTRY_READERS, STAFF
from xroad.console.web import ConsoleUser, console, render, require

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, user: Annotated[ConsoleUser, Depends(require())]
               ) -> HTMLResponse:
    ctx = console(request)
    figures: dict[str, Any] = {}
    problem = None
    try:
        if user.role in REGISTRY_READERS:
            members = await ctx.central.get(user.role, "/api/v1/members")
            servers = await ctx.central.get(user.role, "/api/v1/security-servers")
            pending = await ctx.central.get(user.role, "/api/v1/registration-requests",
                                            status="submitted")
            figures.update(members=len(members),
                           subsystems=sum(len(m["subsystems"]) for m in members),
                           servers=len(servers), pending=len(pending))
        if user.role in STAFF:
            figures["conf"] = await ctx.central.get(None, "/globalconf/status")
    except CentralError as e:
        problem = e.message
    return render(request, "home/index.html", {"figures": figures, "problem": problem})
