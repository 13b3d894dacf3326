"""The citizen portal's composition, with the bus replaced by `httpx.MockTransport`.

The fake security server answers as the real one does: the provider's JSON with
`X-Road-Request-Id`, or an X-Road fault (`X-Road-Error`, JSON `{type, message, detail}`).
The end-to-end tests (tests/e2e/test_portal.py) run the same paths through the real bus.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from adapters.portal import PortalSettings, create_app
from adapters.portal.bus import BusReply
from adapters.portal.profile import Outcome, read_answer
from adapters.portal.settings import DEFAULT_PURPOSE, Registry

PERSON = "УБ99112233"
ENCODED = quote(PERSON, safe="")
Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]

PATHS = {  # what the portal must send for each registry (REST r1, raw path)
    "civil": f"/r1/MN/GOV/GASR/civil-registry/persons/{ENCODED}",
    "land": "/r1/MN/GOV/ALAMGAC/land-registry/parcels",
    "vehicle": "/r1/MN/GOV/RTDC/vehicle-registry/vehicles",
    "tax": f"/r1/MN/GOV/MTA/tax-registry/tax-status/{ENCODED}",
}
ANSWERS: dict[str, dict[str, Any]] = {
    "civil": {"register_number": PERSON, "family_name": "Бат-Эрдэнэ", "given_name": "Болд",
              "clan_name": "Боржигин", "sex": "male", "birth_date": "1999-11-22",
              "birth_place": "Улаанбаатар", "citizenship": "MN", "status": "alive",
              "address": {"aimag": "Улаанбаатар", "soum": "Сүхбаатар", "bag": "1-р хороо"}},
    "land": {"register_number": PERSON, "parcels": [
        {"parcel_id": "0101000001", "location": {"aimag": "Улаанбаатар", "soum": "Сүхбаатар"},
         "area_m2": 700, "land_use": "residential", "certificate_number": "000123",
         "owners": [{"register_number": PERSON, "share": "1/2"}],
         "validity": {"valid_from": "2010-05-01", "valid_until": None}}]},
    "vehicle": {"owner_register_number": PERSON, "vehicles": [
        {"plate_number": "1234УБА", "make": "Toyota", "model": "Prius", "year": 2015,
         "inspection": {"status": "passed", "date": "2025-03-01"},
         "insurance": {"status": "valid", "valid_until": "2026-03-01"}}]},
    "tax": {"register_number": PERSON, "tin": "220299112233", "status": "active",
            "arrears_mnt": 0, "tax_year": 2025, "property_tax_due_mnt": 120000,
            "property_tax_paid": False},
}


def registry_of(request: httpx.Request) -> str:
    path = request.url.raw_path.decode().split("?")[0]
    return next(name for name, expected in PATHS.items()
                if path == expected or path.startswith(expected.removesuffix(ENCODED)))


def ok(name: str) -> httpx.Response:
    return httpx.Response(200, json=ANSWERS[name],
                          headers={"X-Road-Request-Id": f"request-{name}"})


def fault(code: str, message: str, status: int = 500) -> httpx.Response:
    return httpx.Response(status, headers={"X-Road-Error": code},
                          json={"type": code, "message": message, "detail": "fault-id"})


class FakeBus:
    """The consumer security server: records requests, answers by registry."""

    def __init__(self, special: dict[str, Handler] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.special = special or {}

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        name = registry_of(request)
        if name in self.special:
            return await self.special[name](request)
        return ok(name)

    def sent(self, name: str) -> httpx.Request:
        return next(r for r in self.requests if registry_of(r) == name)


@contextmanager
def portal(bus: FakeBus, **settings: Any) -> Iterator[TestClient]:
    app = create_app(PortalSettings(**settings), httpx.MockTransport(bus))
    with TestClient(app) as client:
        yield client


def answer(response: httpx.Response) -> Callable[[httpx.Request], Awaitable[httpx.Response]]:
    async def handler(_: httpx.Request) -> httpx.Response:
        return response
    return handler


# -- the whole profile ----------------------------------------------------------------------


def test_a_full_profile_has_every_section_and_the_request_ids() -> None:
    bus = FakeBus()
    with portal(bus) as client:
        reply = client.get(f"/api/profile/{ENCODED}")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["person"]["family_name"] == "Бат-Эрдэнэ"
    assert [p["parcel_id"] for p in body["parcels"]] == ["0101000001"]
    assert [v["plate_number"] for v in body["vehicles"]] == ["1234УБА"]
    assert body["tax"]["tin"] == "220299112233"
    assert body["complete"] is True
    assert body["errors"] == {}
    assert body["status"] == dict.fromkeys(PATHS, "ok")
    assert body["request_ids"] == {name: f"request-{name}" for name in PATHS}
    assert body["purpose"] == DEFAULT_PURPOSE
    # Each call carries the portal's id, its own fresh message id and the purpose.
    assert len(bus.requests) == 4
    assert {bus.sent(name).headers["X-Road-Id"] for name in PATHS} == set(
        body["message_ids"].values())
    assert len(set(body["message_ids"].values())) == 4
    for name in PATHS:
        sent = bus.sent(name)
        assert sent.method == "GET"
        assert sent.headers["X-Road-Client"] == "MN/GOV/EMONGOLIA/portal"
        assert sent.headers["X-Road-Issue"] == DEFAULT_PURPOSE
        assert "X-Road-UserId" not in sent.headers
        assert sent.headers["X-Road-Id"] == body["message_ids"][name]
    for name in ("land", "vehicle"):
        assert bus.sent(name).url.params["owner"] == PERSON
        assert bus.sent(name).url.raw_path.decode().endswith(f"?owner={ENCODED}")


def test_the_four_registries_are_asked_concurrently() -> None:
    """Each fake registry answers only once all four requests are in flight: asked one
    after another, the first would time out."""
    arrived: list[str] = []
    everyone = asyncio.Event()

    async def after_all_four(request: httpx.Request) -> httpx.Response:
        arrived.append(registry_of(request))
        if len(arrived) == 4:
            everyone.set()
        await everyone.wait()
        return ok(registry_of(request))

    bus = FakeBus(dict.fromkeys(PATHS, after_all_four))
    with portal(bus, timeout_s=5) as client:
        body = client.get(f"/api/profile/{ENCODED}").json()
    assert body["complete"] is True, body["errors"]
    assert sorted(arrived) == sorted(PATHS)


def test_the_signed_in_citizen_is_the_user_id_of_every_request() -> None:
    bus = FakeBus()
    with portal(bus, purpose="my own record") as client:
        reply = client.get(f"/api/profile/{ENCODED}", headers={"X-Road-UserId": "MN99112233"})
    assert reply.status_code == 200
    assert reply.json()["purpose"] == "my own record"
    assert {r.headers["X-Road-UserId"] for r in bus.requests} == {"MN99112233"}
    assert {r.headers["X-Road-Issue"] for r in bus.requests} == {"my own record"}


# -- partial results ------------------------------------------------------------------------


def test_a_registry_error_leaves_only_its_section_empty() -> None:
    bus = FakeBus({"land": answer(httpx.Response(
        500, json={"type": "InternalError", "message": "internal error (fault id x)"},
        headers={"X-Road-Request-Id": "request-land"}))})
    with portal(bus) as client:
        reply = client.get(f"/api/profile/{ENCODED}")
    assert reply.status_code == 200
    body = reply.json()
    assert body["parcels"] is None
    assert body["status"]["land"] == "failed"
    assert body["errors"] == {"land": "The land registry answered with an error (HTTP 500): "
                                      "InternalError: internal error (fault id x)"}
    assert body["complete"] is False
    assert body["person"] is not None
    assert body["vehicles"] is not None
    assert body["tax"] is not None
    assert body["request_ids"]["land"] == "request-land"


@pytest.mark.parametrize(("code", "expected"), [
    ("Server.ServerProxy.AccessDenied",
     "The vehicle registry refused: Server.ServerProxy.AccessDenied: "
     "client is not allowed to call vehicles"),
    ("Server.ClientProxy.UnknownService",
     "The bus did not forward the request to the vehicle registry: "
     "Server.ClientProxy.UnknownService: client is not allowed to call vehicles"),
], ids=["provider-side", "client-side"])
def test_an_x_road_fault_names_the_registry_and_the_fault(code: str, expected: str) -> None:
    bus = FakeBus({"vehicle": answer(fault(code, "client is not allowed to call vehicles"))})
    with portal(bus) as client:
        body = client.get(f"/api/profile/{ENCODED}").json()
    assert body["vehicles"] is None
    assert body["status"]["vehicle"] == "refused"
    assert body["errors"] == {"vehicle": expected}
    assert body["request_ids"]["vehicle"] is None
    assert [p["parcel_id"] for p in body["parcels"]] == ["0101000001"]


def test_a_slow_registry_costs_at_most_its_timeout() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(10)
        return ok(registry_of(request))

    bus = FakeBus({"tax": slow})
    with portal(bus, timeouts_s={"tax": 0.2}) as client:
        started = time.monotonic()
        reply = client.get(f"/api/profile/{ENCODED}")
        elapsed = time.monotonic() - started
    assert reply.status_code == 200
    body = reply.json()
    assert elapsed < 5
    assert body["tax"] is None
    assert body["status"]["tax"] == "timeout"
    assert body["errors"] == {"tax": "The tax registry did not answer within 0.2 s"}
    assert body["request_ids"]["tax"] is None
    assert body["message_ids"]["tax"]  # still findable in the audit logs by message id
    assert body["person"]["family_name"] == "Бат-Эрдэнэ"


def test_an_unreachable_security_server_is_said_for_each_registry() -> None:
    async def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    bus = FakeBus(dict.fromkeys(PATHS, refused))
    with portal(bus) as client:
        reply = client.get(f"/api/profile/{ENCODED}")
    assert reply.status_code == 200  # nothing known, but nothing wrong with the question
    body = reply.json()
    assert body["status"] == dict.fromkeys(PATHS, "unreachable")
    assert body["errors"]["civil"] == ("The portal could not ask the civil registry: its "
                                       "security server not reachable (ConnectError)")


@pytest.mark.parametrize(("registry", "reply", "message"), [
    ("land", BusReply(200, b"<html>", "text/html", "r", None),
     "The land registry sent an answer the portal cannot read"),
    ("vehicle", BusReply(200, b'{"vehicles": "none"}', "application/json", "r", None),
     "The vehicle registry sent an answer the portal cannot read"),
    ("civil", BusReply(200, b"[]", "application/json", "r", None),
     "The civil registry sent an answer the portal cannot read"),
    ("tax", BusReply(503, b"", "", "r", None),
     "The tax registry answered with an error (HTTP 503)"),
    ("tax", BusReply(500, b"not json", "text/plain", None, "Server.ClientProxy.NetworkError"),
     "The bus did not forward the request to the tax registry: Server.ClientProxy.NetworkError"),
], ids=["not-json", "not-a-list", "not-an-object", "no-body", "fault-without-body"])
def test_answers_the_portal_cannot_use_are_failures(registry: str, reply: BusReply,
                                                    message: str) -> None:
    data, failure = read_answer(Registry(registry), reply)
    assert data is None
    assert failure is not None
    assert failure.message == message
    assert failure.outcome in {Outcome.UNREADABLE, Outcome.FAILED, Outcome.REFUSED}


# -- refused questions ----------------------------------------------------------------------


@pytest.mark.parametrize("number", [
    "UB99112233",  # Latin look-alikes
    "УБ9911223",  # seven digits
    "УБ99132233",  # month 13
    "уб99112233",  # lower case
    "УБ99112233 ",
], ids=["latin", "short", "no-such-date", "lower-case", "trailing-space"])
def test_a_malformed_register_number_is_400_without_asking_the_bus(number: str) -> None:
    bus = FakeBus()
    with portal(bus) as client:
        reply = client.get(f"/api/profile/{quote(number, safe='')}")
        page = client.get(f"/profile/{quote(number, safe='')}")
    assert reply.status_code == 400
    assert reply.json()["type"] == "InvalidRegisterNumber"
    assert "Cyrillic" in reply.json()["message"] or "birth date" in reply.json()["message"]
    assert page.status_code == 400
    assert "Регистрийн дугаар буруу" in page.text
    assert bus.requests == []


def test_a_person_unknown_to_the_civil_registry_is_404() -> None:
    unknown = "УБ88010112"
    bus = FakeBus({"civil": answer(httpx.Response(
        404, json={"type": "PersonNotFound", "message": "no person"},
        headers={"X-Road-Request-Id": "request-civil"}))})
    with portal(bus) as client:
        reply = client.get(f"/api/profile/{quote(unknown, safe='')}")
        page = client.get(f"/profile/{quote(unknown, safe='')}")
    assert reply.status_code == 404
    body = reply.json()
    assert body["type"] == "PersonNotFound"
    assert body["message"] == f"The civil registry knows no person with register number {unknown}"
    assert body["request_ids"]["civil"] == "request-civil"
    assert set(body["message_ids"]) == set(PATHS)
    assert page.status_code == 404
    assert "Иргэн олдсонгүй" in page.text


def test_a_404_from_the_bus_itself_is_not_an_unknown_person() -> None:
    bus = FakeBus({"civil": answer(fault("Server.ClientProxy.UnknownService", "no such "
                                                                              "service", 404))})
    with portal(bus) as client:
        reply = client.get(f"/api/profile/{ENCODED}")
    assert reply.status_code == 200
    assert reply.json()["status"]["civil"] == "refused"


@pytest.mark.parametrize("user_id", ["x" * 256, "MN\tУБ"], ids=["too-long", "not-ascii"])
def test_a_malformed_user_id_is_400_without_asking_the_bus(user_id: str) -> None:
    bus = FakeBus()
    with portal(bus) as client:
        reply = client.get(f"/api/profile/{ENCODED}",
                           headers={"X-Road-UserId": user_id.encode()})
    assert reply.status_code == 400
    assert "X-Road-UserId" in reply.json()["message"]
    assert bus.requests == []


# -- pages ----------------------------------------------------------------------------------


def test_the_profile_page_shows_every_section_and_the_request_ids() -> None:
    with portal(FakeBus()) as client:
        page = client.get(f"/profile/{ENCODED}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="mn">' in html
    for text in ("Бат-Эрдэнэ", "эрэгтэй", "0101000001", "гэр бүлийн хэрэгцээний", "1234УБА",
                 "220299112233", "120\u202f000 ₮", "request-civil", "request-tax",
                 DEFAULT_PURPOSE.replace("'", "&#39;")):
        assert text in html, text
    assert "<script" not in html
    assert "https://" not in html  # nothing from a CDN
    assert 'class="notice"' not in html


def test_the_page_shows_partial_results_with_a_message() -> None:
    async def slow(_: httpx.Request) -> httpx.Response:
        await asyncio.sleep(10)
        raise AssertionError("not reached")

    bus = FakeBus({"land": slow, "tax": answer(fault("Server.ServerProxy.AccessDenied", "no"))})
    with portal(bus, timeouts_s={"land": 0.2}) as client:
        html = client.get(f"/profile/{ENCODED}").text
    assert 'class="notice" role="status"' in html
    assert "0.2 секундын дотор хариу ирсэнгүй." in html
    assert "The land registry did not answer within 0.2 s" in html
    assert "Бүртгэл хүсэлтийг татгалзлаа: Server.ServerProxy.AccessDenied" in html
    assert "Бат-Эрдэнэ" in html
    assert "1234УБА" in html


def test_the_search_form_leads_to_the_profile_page() -> None:
    with portal(FakeBus()) as client:
        index = client.get("/")
        assert index.status_code == 200
        assert 'action="/profile"' in index.text
        assert '<label for="register_number">' in index.text
        found = client.get("/profile", params={"register_number": " уб99112233 "},
                           follow_redirects=False)
        assert found.status_code == 303
        assert found.headers["location"] == f"/profile/{ENCODED}"
        assert client.get("/profile", params={"register_number": ""}).status_code == 400


def test_health() -> None:
    with portal(FakeBus()) as client:
        assert client.get("/health").json() == {"status": "ok"}


# -- settings -------------------------------------------------------------------------------


def test_registries_and_timeouts_come_from_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XROAD_PORTAL_LAND_SERVICE", "LA/GOV/MONRE/land/parcels")
    monkeypatch.setenv("XROAD_PORTAL_TIMEOUTS_S", json.dumps({"tax": 0.5}))
    settings = PortalSettings()
    assert str(settings.service(Registry.LAND)) == "LA/GOV/MONRE/land/parcels"
    assert str(settings.service(Registry.CIVIL)) == "MN/GOV/GASR/civil-registry/persons"
    assert settings.timeout(Registry.TAX) == 0.5
    assert settings.timeout(Registry.CIVIL) == 3.0


@pytest.mark.parametrize("bad", [
    {"land_service": "MN/GOV/ALAMGAC/parcels"},
    {"client": "MN/GOV"},
    {"timeouts_s": {"tax": 0}},
    {"timeouts_s": {"fishery": 1}},
    {"timeout_s": -1},
], ids=["service", "client", "zero-timeout", "unknown-registry", "negative-timeout"])
def test_bad_settings_are_refused_at_start(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        PortalSettings(**bad)
