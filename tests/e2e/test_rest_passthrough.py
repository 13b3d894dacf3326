"""REST r1 semantics through both security servers, against a provider that echoes requests.

Methods, query strings, binary bodies and headers reach the provider as the client sent them
(less hop-by-hop and origin-revealing headers); its redirects, errors and headers come back
unchanged and without X-Road-Error.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import httpx
import pytest
from aiohttp import web

from tests.e2e import stub_provider
from tests.e2e.demo import RunningDemo
from tests.e2e.stub_provider import serve
from tests.e2e.test_exchange import PORTAL, client_url

pytestmark = pytest.mark.e2e

PROVIDER = "MN/GOV/GASR/ss1"
ECHO = "/r1/MN/GOV/GASR/civil-registry/echo"


async def _echo(request: web.Request) -> web.StreamResponse:
    if request.path.endswith("/moved"):
        raise web.HTTPFound("https://elsewhere.example/new-place")
    if request.path.endswith("/broken"):
        return web.json_response({"problem": "registry down"}, status=503,
                                 headers={"Retry-After": "30"})
    body = await request.read()
    return web.json_response({
        "method": request.method, "path": request.raw_path.split("?")[0],
        "query": request.raw_path.partition("?")[2], "headers": dict(request.headers),
        "body_hex": body.hex()}, headers={"X-Provider-Header": "kept"})


@pytest.fixture(scope="module")
def registered(demo: RunningDemo) -> Iterator[None]:
    with serve("/echo{tail:.*}", _echo) as base, stub_provider.registered(demo, PROVIDER, (
            '[[services]]\nprovider = "MN/GOV/GASR/civil-registry"\ncode = "echo"\n'
            f'type = "REST"\nurl = "{base}/echo"\ntimeout_s = 60.0\n\n[[access]]\n'
            f'subject = "{PORTAL}"\nprovider = "MN/GOV/GASR/civil-registry"\n'
            'service = "echo"\nmethod = "*"\npath = "/**"\n')):
        yield


def call(demo: RunningDemo, method: str, path: str, **kwargs: object) -> httpx.Response:
    headers = {"X-Road-Client": PORTAL, **kwargs.pop("headers", {})}  # type: ignore[dict-item]
    return httpx.request(method, client_url(demo) + ECHO + path, headers=headers, timeout=30,
                         **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_methods_queries_and_binary_bodies_arrive_unchanged(demo: RunningDemo,
                                                           registered: None,
                                                           method: str) -> None:
    body = os.urandom(100_000) if method in ("POST", "PUT", "PATCH") else b""
    reply = call(demo, method, "/a%20b/%D0%A3?x=1&x=2&y=%2F", content=body,
                 headers={"X-Trace": "abc", "Content-Type": "application/octet-stream"})
    assert reply.status_code == 200, reply.text
    seen = reply.json()
    assert seen["method"] == method
    assert seen["path"] == "/echo/a%20b/%D0%A3"
    assert seen["query"] == "x=1&x=2&y=%2F"
    assert bytes.fromhex(seen["body_hex"]) == body
    assert seen["headers"]["X-Trace"] == "abc"
    assert seen["headers"]["X-Road-Client"] == PORTAL
    assert reply.headers["X-Provider-Header"] == "kept"
    assert "X-Road-Error" not in reply.headers


def test_a_body_of_megabytes_arrives_and_returns_byte_for_byte(demo: RunningDemo,
                                                                registered: None) -> None:
    """3 MiB up, its 6 MiB hex echo back: both servers write such answers in pieces."""
    body = os.urandom(3 * 1024 * 1024)
    reply = call(demo, "POST", "/big", content=body,
                 headers={"Content-Type": "application/octet-stream"})
    assert reply.status_code == 200, reply.text[:500]
    assert int(reply.headers["Content-Length"]) == len(reply.content)
    assert bytes.fromhex(reply.json()["body_hex"]) == body


def test_hop_by_hop_and_origin_headers_are_not_forwarded(demo: RunningDemo,
                                                          registered: None) -> None:
    reply = call(demo, "GET", "/", headers={"Connection": "keep-alive, X-Secret",
                                            "X-Secret": "hop", "User-Agent": "agency-is/1.0",
                                            "Proxy-Authorization": "Basic x"})
    seen = {k.lower() for k in reply.json()["headers"]}
    assert not seen & {"x-secret", "proxy-authorization"}
    assert reply.json()["headers"].get("User-Agent") != "agency-is/1.0"


def test_redirects_are_passed_back_not_followed(demo: RunningDemo, registered: None) -> None:
    reply = call(demo, "GET", "/moved")
    assert reply.status_code == 302
    assert reply.headers["Location"] == "https://elsewhere.example/new-place"
    assert "X-Road-Error" not in reply.headers


def test_provider_errors_pass_through_unchanged(demo: RunningDemo, registered: None) -> None:
    reply = call(demo, "GET", "/broken")
    assert reply.status_code == 503
    assert reply.json() == {"problem": "registry down"}
    assert reply.headers["Retry-After"] == "30"
    assert "X-Road-Error" not in reply.headers
    assert json.loads(reply.content)  # the provider's body, not an X-Road error


@pytest.mark.parametrize("path", ["/%zz", "/x?q=%2"], ids=["bad-escape-in-path",
                                                          "bad-escape-in-query"])
def test_malformed_percent_encoding_is_a_client_fault(demo: RunningDemo, registered: None,
                                                      path: str) -> None:
    reply = call(demo, "GET", path)
    assert reply.status_code == 400
    assert reply.headers["X-Road-Error"] == "Client.BadRequest"


def test_x_road_identity_headers_reach_the_provider(demo: RunningDemo, registered: None) -> None:
    reply = call(demo, "GET", "/", headers={
        "X-Road-Id": "msg-77", "X-Road-UserId": "MN-officer-17", "X-Road-Issue": "case-9",
        "X-Road-Represented-Party": "COM/1234567"})
    seen = reply.json()["headers"]
    assert seen["X-Road-Id"] == "msg-77"
    assert seen["X-Road-UserId"] == "MN-officer-17"
    assert seen["X-Road-Issue"] == "case-9"
    assert seen["X-Road-Represented-Party"] == "COM/1234567"
