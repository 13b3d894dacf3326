"""The console's security server client against a scripted admin API (httpx.MockTransport):
the requests it sends (path, key, parameters, bodies) and how refusals become one error."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from xroad.console.servers import (
    AUDITOR_KEY,
    AccessRightRow,
    SecurityServerClient,
    ServerApiError,
    client_for,
)
from xroad.console.web import ServerLink

pytestmark = pytest.mark.anyio

SERVER = "MN/GOV/GASR/ss1"
KEY = "secret-auditor-key"  # TEST ONLY

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler) -> SecurityServerClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return SecurityServerClient(SERVER, "http://ss.test:4100/", KEY, http)


async def test_search_sends_the_key_filters_and_keyset_page() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"records": [{"index": 7}], "next_after": 7})

    page = await client(answer).search({"message_id": "m-1", "client": None, "issue": ""},
                                       after=3, limit=1)
    assert page.items == [{"index": 7}]
    assert page.next_after == 7
    request = seen[0]
    assert request.url.path == "/api/v1/audit/records"
    assert dict(request.url.params) == {"message_id": "m-1", "after": "3", "limit": "1"}
    assert request.headers["Authorization"] == f"X-Road-ApiKey token={KEY}"


async def test_grant_and_revoke_post_the_right_as_json() -> None:
    bodies: list[tuple[str, dict[str, str]]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        doc = json.loads(request.content)
        bodies.append((request.url.path, doc))
        return httpx.Response(201, json=doc)

    api = client(answer)
    right = AccessRightRow("MN/GOV/EMONGOLIA/portal", "MN/GOV/GASR/civil-registry/persons",
                           "GET", "/{id}")
    assert await api.grant(right) == right
    await api.revoke(AccessRightRow("MN/GOV/EMONGOLIA/portal",
                                    "MN/GOV/GASR/civil-registry/getPerson"))
    assert bodies == [
        ("/api/v1/access-rights", {"subject": "MN/GOV/EMONGOLIA/portal",
                                   "service": "MN/GOV/GASR/civil-registry/persons",
                                   "method": "GET", "path": "/{id}"}),
        ("/api/v1/access-rights/revoke", {"subject": "MN/GOV/EMONGOLIA/portal",
                                          "service": "MN/GOV/GASR/civil-registry/getPerson"})]


async def test_the_citizen_view_quotes_the_register_number() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.raw_path.startswith(
            b"/api/v1/audit/data-access/%D0%A3%D0%9199112233")
        return httpx.Response(200, json={"security_server": SERVER, "accesses": [],
                                         "next_after": None})

    page = await client(answer).data_access("УБ99112233")
    assert page.items == []
    assert page.next_after is None


async def test_an_api_refusal_keeps_its_status_type_and_message() -> None:
    def answer(_: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"type": "BadRequest",
                                         "message": "not a client identifier: 'x'"})

    with pytest.raises(ServerApiError) as caught:
        await client(answer).grant(AccessRightRow("x", "MN/GOV/GASR/civil-registry/getPerson"))
    assert caught.value.status == 400
    assert caught.value.kind == "BadRequest"
    assert caught.value.message == "not a client identifier: 'x'"
    assert str(caught.value).startswith(SERVER)


async def test_a_non_json_refusal_and_an_unreachable_server_are_clear() -> None:
    with pytest.raises(ServerApiError) as caught:
        await client(lambda _: httpx.Response(502, text="<html>bad gateway</html>")).access_rights()
    assert caught.value.status == 502
    assert caught.value.message == "Bad Gateway"

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(ServerApiError) as caught:
        await client(refuse).checkpoints()
    assert caught.value.status is None
    assert "cannot be reached" in caught.value.message


async def test_a_missing_key_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    link = ServerLink(SERVER, "http://ss.test:4100", tmp_path)
    with pytest.raises(ServerApiError, match="no auditor-api-key"):
        client_for(link, AUDITOR_KEY, httpx.AsyncClient())
    (tmp_path / AUDITOR_KEY).write_text(KEY + "\n")
    assert client_for(link, AUDITOR_KEY, httpx.AsyncClient()).server_id == SERVER
