"""The console's client for one security server's admin listener (access rights, auditor API,
citizen view, operational data).

The console keeps no copy of what a security server knows: every page asks the server with the
API key of the console role's matching server role, so the server's own guards (and its log of
who changed what) stay the single source of truth. Every failure, from a refused key to an
unreachable server, becomes one `ServerApiError` with a message fit to show on the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol
from urllib.parse import quote

import httpx

AUDIT: Final = "/api/v1/audit"
ACCESS_RIGHTS: Final = "/api/v1/access-rights"
MAX_EVIDENCE_BYTES: Final = 256 * 1024 * 1024
# The server's API key file for each use (least privilege: the console role picks one).
ADMIN_KEY: Final = "admin-api-key"  # grant and revoke access rights
OBSERVER_KEY: Final = "observer-api-key"  # read access rights and traffic (operational data)
AUDITOR_KEY: Final = "auditor-api-key"  # the auditor API
DATA_ACCESS_KEY: Final = "data-access-api-key"  # only the citizen view


class ServerApiError(Exception):
    """A security server refused or could not answer a console request."""

    def __init__(self, server_id: str, message: str, status: int | None = None,
                 kind: str | None = None) -> None:
        super().__init__(f"{server_id}: {message}")
        self.server_id = server_id
        self.message = message
        self.status = status  # None: no answer at all (unreachable, timeout)
        self.kind = kind  # the API's error type, e.g. "BadRequest", "Forbidden"


@dataclass(frozen=True, slots=True)
class AccessRightRow:
    """One access right as the admin API lists it (subject text, service id text)."""

    subject: str
    service: str
    method: str | None = None
    path: str | None = None

    def body(self) -> dict[str, str]:
        doc = {"subject": self.subject, "service": self.service}
        if self.method is not None and self.path is not None:
            doc |= {"method": self.method, "path": self.path}
        return doc

    @classmethod
    def of(cls, doc: Mapping[str, Any]) -> AccessRightRow:
        return cls(str(doc["subject"]), str(doc["service"]),
                   None if doc.get("method") is None else str(doc["method"]),
                   None if doc.get("path") is None else str(doc["path"]))


@dataclass(frozen=True, slots=True)
class Page:
    """One keyset page of an auditor API listing; `next_after` is None on the last page."""

    items: list[dict[str, Any]]
    next_after: int | None


class ServerLinkLike(Protocol):
    """What `web.ServerLink` offers: an id, the admin listener and its key files."""

    @property
    def id(self) -> str: ...
    @property
    def admin_url(self) -> str: ...
    def key(self, role_file: str) -> str: ...


def client_for(link: ServerLinkLike, key_file: str,
               http: httpx.AsyncClient) -> SecurityServerClient:
    """A client with `link`'s `key_file` key; a missing key file is a clear error (the
    console was not given that role's key for this server)."""
    try:
        key = link.key(key_file)
    except OSError as e:
        raise ServerApiError(link.id, f"the console has no {key_file} for this server") from e
    return SecurityServerClient(link.id, link.admin_url, key, http)


class SecurityServerClient:
    """One server, one API key, over the console's shared connection pool."""

    def __init__(self, server_id: str, admin_url: str, api_key: str,
                 http: httpx.AsyncClient) -> None:
        self.server_id = server_id
        self._base = admin_url.rstrip("/")
        self._headers = {"Authorization": f"X-Road-ApiKey token={api_key}"}
        self._http = http

    async def _call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                    json: Any = None) -> httpx.Response:
        clean = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        try:
            reply = await self._http.request(method, self._base + path, params=clean,
                                             json=json, headers=self._headers)
        except httpx.TimeoutException as e:
            raise ServerApiError(self.server_id, "no answer in time") from e
        except httpx.HTTPError as e:
            raise ServerApiError(self.server_id, f"cannot be reached ({type(e).__name__})") from e
        if reply.status_code >= 400:
            raise self._refusal(reply)
        return reply

    def _refusal(self, reply: httpx.Response) -> ServerApiError:
        kind, message = None, reply.reason_phrase or f"HTTP {reply.status_code}"
        try:
            doc = reply.json()
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            kind = str(doc.get("type")) if doc.get("type") is not None else None
            message = str(doc.get("message") or message)
        return ServerApiError(self.server_id, message[:500], reply.status_code, kind)

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        reply = await self._call(method, path, **kwargs)
        try:
            return reply.json()
        except ValueError as e:
            raise ServerApiError(self.server_id, "answered with something other than JSON",
                                 reply.status_code) from e

    # -- access rights (service administrator key; observers read) -----------------------

    async def access_rights(self) -> list[AccessRightRow]:
        doc = await self._json("GET", ACCESS_RIGHTS)
        return [AccessRightRow.of(d) for d in doc]

    async def grant(self, right: AccessRightRow) -> AccessRightRow:
        return AccessRightRow.of(await self._json("POST", ACCESS_RIGHTS, json=right.body()))

    async def revoke(self, right: AccessRightRow) -> AccessRightRow:
        return AccessRightRow.of(await self._json("POST", ACCESS_RIGHTS + "/revoke",
                                                  json=right.body()))

    # -- the auditor API (auditor key) ------------------------------------------------------

    async def search(self, filters: Mapping[str, str | None], *, after: int | None = None,
                     limit: int = 50) -> Page:
        doc = await self._json("GET", AUDIT + "/records",
                               params={**filters, "after": after, "limit": limit})
        return Page(list(doc["records"]), doc.get("next_after"))

    async def record(self, index: int, size: int | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = await self._json("GET", f"{AUDIT}/records/{index}",
                                               params={"size": size})
        return doc

    async def checkpoint(self) -> str:
        """The newest signed checkpoint note (a fresh one covering every record so far)."""
        return (await self._call("GET", AUDIT + "/checkpoint")).text

    async def checkpoints(self) -> list[dict[str, Any]]:
        doc = await self._json("GET", AUDIT + "/checkpoints")
        return list(doc["checkpoints"])

    async def consistency(self, first: int, second: int) -> list[str]:
        doc = await self._json("GET", AUDIT + "/consistency",
                               params={"from": first, "to": second})
        return list(doc["proof"])

    async def operational_data(self, filters: Mapping[str, str | None], *,
                               after: int | None = None, limit: int = 1000) -> Page:
        doc = await self._json("GET", AUDIT + "/operational-data",
                               params={**filters, "after": after, "limit": limit})
        return Page(list(doc["records"]), doc.get("nextRecordsFrom"))

    async def seal(self) -> dict[str, Any]:
        """A fresh time-stamped checkpoint (the server asks its TSA; can take seconds)."""
        doc: dict[str, Any] = await self._json("POST", AUDIT + "/seal")
        return doc

    async def evidence(self, filters: Mapping[str, str | None]) -> bytes:
        """The evidence bundle `xroad audit export --no-seal` would write, as a .tar.gz."""
        reply = await self._call("GET", AUDIT + "/evidence", params=filters)
        if len(reply.content) > MAX_EVIDENCE_BYTES:
            raise ServerApiError(self.server_id, "evidence bundle too large for the console")
        return reply.content

    # -- the citizen view (data-access or auditor key) --------------------------------------

    async def data_access(self, register_number: str, *, after: int | None = None,
                          limit: int = 200) -> Page:
        doc = await self._json("GET", f"{AUDIT}/data-access/{quote(register_number, safe='')}",
                               params={"after": after, "limit": limit})
        return Page(list(doc["accesses"]), doc.get("next_after"))

    # -- monitoring (observer key) -----------------------------------------------------------

