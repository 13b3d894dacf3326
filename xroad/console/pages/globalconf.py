"""Global configuration: the version being served, when it was generated and until when it is
valid, the signing key, the members it lists, and the signed document itself to download
(verify it against the configuration anchor; the console only passes it on)."""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations.

import base64
import binascii
import json
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from xroad.console.central import CentralError
from xroad.console.roles import STAFF
from xroad.console.web import ConsoleUser, console, render, require

router = APIRouter()

Staff = Annotated[ConsoleUser, Depends(require(*STAFF))]
_DOWNLOADS: Final = {"globalconf.json": ("/globalconf", "application/json"),
                     "shared-params.xml": ("/globalconf/shared-params.xml", "application/xml")}


def listed(signed: bytes, what: str) -> list[dict[str, Any]]:
    """The `members` or `security_servers` of a signed configuration document, for display
    only (security servers verify the signature; the console shows what is served)."""
    try:
        content = json.loads(base64.b64decode(json.loads(signed)["content"], validate=True))
        found = content[what]
    except (ValueError, KeyError, TypeError, binascii.Error):
        return []
    if not isinstance(found, list):
        return []
    return [m for m in found if isinstance(m, dict) and isinstance(m.get("id"), str)]


@router.get("/globalconf", response_class=HTMLResponse)
async def show(request: Request, _: Staff) -> HTMLResponse:
    ctx = console(request)
    status = await ctx.central.get(None, "/globalconf/status")
    document = await ctx.central.raw("/globalconf")
    signed = document.content if document.status_code == 200 else b""
    try:
        expired = datetime.fromisoformat(status["expires_at"]) <= ctx.clock.now()
    except (KeyError, ValueError, TypeError):
        expired = False
    return render(request, "globalconf/show.html", {
        "status": status, "members": listed(signed, "members"),
        "servers": listed(signed, "security_servers"), "expired": expired})


@router.get("/globalconf/download/{name}")
async def download(request: Request, name: str, _: Staff) -> Response:
    """The document exactly as the central server serves it."""
    found = _DOWNLOADS.get(name)
    if found is None:
        raise CentralError(404, "NotFound", f"no download {name!r}")
    reply = await console(request).central.raw(found[0])
    if reply.status_code != 200:
        raise CentralError(502, "Error", f"HTTP {reply.status_code}")
    return Response(reply.content, media_type=found[1], headers={
        "Content-Disposition": f'attachment; filename="{name}"'})
