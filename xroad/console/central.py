"""The central server as the console sees it: its admin API, called with the API key of the
signed-in user's own role (least privilege: an auditor's page cannot change the registry even
if the page had a bug), plus the public global configuration routes.

Key files are read by this process when needed (a rotated key is picked up at once) and are
never sent to a browser. Every failure becomes a `CentralError` with the API's own message.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx

from xroad.console.roles import Role

# The central admin API key file each console role uses; other roles have none.
CENTRAL_KEY_FILES: Final = {Role.ADMINISTRATOR: "admin-api-key",
                            Role.REGISTRATION_OFFICER: "officer-api-key",
                            Role.AUDITOR: "auditor-api-key"}


class CentralError(Exception):
    """The central server refused or could not be reached; `message` is safe to show."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.status, self.kind, self.message = status, kind, message


@dataclass(frozen=True)
class CentralApi:
    base_url: str
    key_dir: Path
    http: httpx.AsyncClient

    def _key(self, role: Role) -> str:
        name = CENTRAL_KEY_FILES.get(role)
        if name is None:
            raise CentralError(403, "Forbidden", f"role {role} has no access to the registry")
        try:
            return (self.key_dir / name).read_text(encoding="utf-8").strip()
        except OSError as e:
            raise CentralError(503, "Unavailable",
                               f"the console has no {name} (ask the operator)") from e

    async def call(self, role: Role | None, method: str, path: str, *,
                   body: Any = None, params: dict[str, str] | None = None) -> Any:
        """The JSON answer of `method path`; with `role`, authenticated by its key."""
        headers = ({} if role is None
                   else {"Authorization": f"X-Road-ApiKey token={self._key(role)}"})
        try:
            reply = await self.http.request(method, self.base_url.rstrip("/") + path, json=body,
                                            params=params, headers=headers)
        except httpx.TimeoutException as e:
            raise CentralError(504, "Timeout", "the central server did not answer in time") from e
        except httpx.HTTPError as e:
            raise CentralError(502, "Unreachable",
                               f"cannot reach the central server ({type(e).__name__})") from e
        try:
            doc = reply.json()
        except ValueError:
            doc = None
        if reply.status_code >= 400:
            if isinstance(doc, dict) and isinstance(doc.get("message"), str):
                raise CentralError(reply.status_code, str(doc.get("type", "Error")),
                                   doc["message"])
            raise CentralError(reply.status_code, "Error", f"HTTP {reply.status_code}")
        return doc

    async def get(self, role: Role | None, path: str, **params: str) -> Any:
        return await self.call(role, "GET", path, params=params or None)

    async def post(self, role: Role, path: str, body: Any) -> Any:
        return await self.call(role, "POST", path, body=body)

    async def raw(self, path: str) -> httpx.Response:
        """An unauthenticated GET passed on as it is (the signed configuration download)."""
        try:
            return await self.http.get(self.base_url.rstrip("/") + path)
        except httpx.HTTPError as e:
            raise CentralError(502, "Unreachable",
                               f"cannot reach the central server ({type(e).__name__})") from e
