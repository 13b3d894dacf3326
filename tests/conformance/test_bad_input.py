"""Bad input on the client-facing SOAP and REST paths: a precise `Client.*` fault, a log line,
and nothing reaches the provider (issue 5, "Hardened parsing, bad input").

The SOAP cases are data: `vectors/soap/manifest.json` (STYLE 13), each derived from the demo
request, with the error class, both fault spellings and, where known, what X-Road answers.
Unit tests already check most mechanisms on synthetic envelopes (each vector names its unit
test); here the same attacks arrive in the shape real clients send, and go through the client
proxy to the wire.
"""

import asyncio
import dataclasses
import json
import time
from pathlib import Path
from typing import Any, Final

import pytest
from lxml import etree
from structlog.testing import capture_logs

from xroad import errors
from xroad.identifiers import SecurityServerId
from xroad.limits import Limits
from xroad.messages.faults import FaultSpelling, fault_code
from xroad.messages.soap import parse_soap
from xroad.messages.xml import SOAP_ENV_NS, parse_untrusted
from xroad.proxy.client_proxy import ClientProxy
from xroad.proxy.context import SecurityServer
from xroad.proxy.exchange import HttpRequest, HttpResponse

LIMITS: Final = Limits()
SOAP_CT: Final = "text/xml; charset=UTF-8"
MANIFEST: Final = Path(__file__).parent / "vectors" / "soap" / "manifest.json"


def _vectors() -> list[dict[str, Any]]:
    entries = json.loads(MANIFEST.read_text(encoding="utf-8"))["vectors"]
    return [{**v, "data": (MANIFEST.parent / v["file"]).read_bytes()} for v in entries]


VECTORS: Final = _vectors()
BAD: Final = [v for v in VECTORS if v["expect"] != "ok"]
GOOD: Final = [v for v in VECTORS if v["expect"] == "ok"]


def _ids(vectors: list[dict[str, Any]]) -> list[str]:
    return [v["id"] for v in vectors]


def test_manifest_lists_every_vector_file_once():
    files = sorted(p.name for p in MANIFEST.parent.glob("*.xml"))
    assert sorted(v["file"] for v in VECTORS) == files
    assert len({v["id"] for v in VECTORS}) == len(VECTORS)
    assert len(BAD) > len(GOOD)  # STYLE 13: more bad cases than good


# -- the codec -----------------------------------------------------------------------------

@pytest.mark.parametrize("vector", GOOD, ids=_ids(GOOD))
def test_good_vector_is_accepted(vector):
    header = parse_soap(vector["data"], vector.get("content_type", SOAP_CT), LIMITS).header
    assert str(header.client) == "MN/GOV/EMONGOLIA/portal"
    assert header.message_id == "demo-0001"


@pytest.mark.parametrize("vector", BAD, ids=_ids(BAD))
def test_bad_vector_raises_the_precise_error_and_fault(vector):
    expect = vector["expect"]
    with pytest.raises(errors.InvalidMessage) as caught:
        parse_soap(vector["data"], vector.get("content_type", SOAP_CT), LIMITS)
    assert type(caught.value).__name__ == expect["error"]  # this class, not a parent or sibling
    assert fault_code(caught.value, "ClientProxy", FaultSpelling.CLASSIC) == (expect["fault"], 400)
    assert fault_code(caught.value, "ClientProxy", FaultSpelling.SNAKE) == (
        expect["fault_snake"], 400)


COMPARED: Final = [v for v in BAD if v.get("xroad_fault")]


def _as_xroad(vector: dict[str, Any]) -> Any:
    if vector["xroad_fault"] == vector["expect"]["fault"]:
        return pytest.param(vector, id=vector["id"])
    return pytest.param(vector, id=vector["id"], marks=pytest.mark.xfail(strict=True, reason=(
        f"bus answers {vector['expect']['fault']}, X-Road answers {vector['xroad_fault']} "
        f"({vector['xroad_source']})")))


@pytest.mark.parametrize("vector", [_as_xroad(v) for v in COMPARED])
def test_fault_code_is_the_one_xroad_answers(vector):
    with pytest.raises(errors.XRoadError) as caught:
        parse_soap(vector["data"], vector.get("content_type", SOAP_CT), LIMITS)
    code, _ = fault_code(caught.value, "ClientProxy", FaultSpelling.CLASSIC)
    assert code == vector["xroad_fault"]


def _padded(data: bytes, size: int) -> bytes:
    """`data` grown to exactly `size` bytes with filler elements inside the body wrapper."""
    missing = size - len(data)
    chunk = b"<civ:f>" + b"A" * 1000 + b"</civ:f>"
    filler = chunk * (missing // len(chunk)) + b" " * (missing % len(chunk))
    return data.replace(b"</civ:getPerson>", filler + b"</civ:getPerson>")


@pytest.mark.parametrize(("extra", "accepted"), [
    pytest.param(0, True, id="at-limit"), pytest.param(1, False, id="one-byte-over")])
def test_size_limit_on_the_soap_path(demo_request, extra, accepted):
    data = _padded(demo_request, LIMITS.max_xml_bytes + extra)
    assert len(data) == LIMITS.max_xml_bytes + extra
    if accepted:
        assert parse_soap(data, SOAP_CT, LIMITS).header.message_id == "demo-0001"
    else:
        with pytest.raises(errors.InvalidMessage, match="larger than"):
            parse_soap(data, SOAP_CT, LIMITS)


def test_large_text_node_within_the_size_limit_is_accepted(demo_request):
    document = b"A" * (LIMITS.max_xml_bytes - len(demo_request) - 100)
    data = demo_request.replace(b"</civ:getPerson>",
                                b"<civ:document>" + document + b"</civ:document></civ:getPerson>")
    assert len(data) <= LIMITS.max_xml_bytes
    assert parse_soap(data, SOAP_CT, LIMITS).header.message_id == "demo-0001"


def test_long_text_node_does_not_lift_the_depth_bound(demo_request):
    """The huge-text path parses with libxml2's bounds lifted; depth is bounded by us there."""
    nested = b"<civ:x>" * 300 + b"</civ:x>" * 300
    data = demo_request.replace(b"</civ:getPerson>", b"<civ:document>" + b"A" * 10_000_100
                                + b"</civ:document>" + nested + b"</civ:getPerson>")
    assert len(data) <= LIMITS.max_xml_bytes
    with pytest.raises(errors.InvalidSoap, match="deeper than 256"):
        parse_soap(data, SOAP_CT, LIMITS)


def _deeply_nested(demo_request: bytes, depth: int) -> bytes:
    inner = b"<civ:x>" * depth + b"</civ:x>" * depth
    return demo_request.replace(b"</civ:getPerson>", inner + b"</civ:getPerson>")


@pytest.mark.parametrize("depth", [10_000, 100_000])
def test_deeply_nested_xml_is_refused_quickly(demo_request, depth):
    data = _deeply_nested(demo_request, depth)
    assert len(data) < LIMITS.max_xml_bytes  # refused for its depth, not its size
    started = time.perf_counter()
    with pytest.raises(errors.InvalidMessage):
        parse_untrusted(data, LIMITS)
    with pytest.raises(errors.InvalidMessage):
        parse_soap(data, SOAP_CT, LIMITS)
    assert time.perf_counter() - started < 1.0


# -- through the client proxy: the wire, the log, and nothing past parsing -----------------

class Tripwire:
    """Stands for everything past parsing (global configuration, keys, audit log, clock,
    peers): any use is recorded and fails, so a test can tell how far a message got."""

    def __init__(self, name: str, touched: list[str]) -> None:
        self._name, self._touched = name, touched

    def _trip(self, what: str) -> AssertionError:
        self._touched.append(f"{self._name}.{what}")
        return AssertionError(f"bad input reached {self._name}.{what}")

    def __getattr__(self, attr: str) -> Any:
        raise self._trip(attr)

    def __getitem__(self, key: object) -> Any:
        raise self._trip(f"[{key!r}]")

    def __contains__(self, key: object) -> bool:
        raise self._trip(f"contains {key!r}")

    def __iter__(self) -> Any:
        raise self._trip("iter")


def _proxy(spelling: FaultSpelling, limits: Limits = LIMITS) -> tuple[ClientProxy, list[str]]:
    touched: list[str] = []
    known = {"server_id": SecurityServerId.parse("MN/GOV/EMONGOLIA/ss1"), "limits": limits,
             "fault_spelling": spelling}
    required = [f.name for f in dataclasses.fields(SecurityServer)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    server = SecurityServer(**{name: known.get(name, Tripwire(name, touched))
                               for name in required})
    return ClientProxy(server, Tripwire("peers", touched)), touched


def _call(handler, request: HttpRequest) -> tuple[HttpResponse, list[dict[str, Any]]]:
    with capture_logs() as logs:
        response = asyncio.run(handler(request))
    return response, [entry for entry in logs if entry.get("event") == "fault"]


def _soap_request(body: bytes | None, content_type: str = SOAP_CT) -> HttpRequest:
    return HttpRequest("POST", "/", "", (("Content-Type", content_type),), body)


def _soap_fault(response: HttpResponse) -> tuple[str, str | None, str]:
    root = parse_untrusted(response.body, LIMITS)
    fault = root.find(f"{{{SOAP_ENV_NS}}}Body/{{{SOAP_ENV_NS}}}Fault")
    assert fault is not None, response.body[:300]
    return (fault.findtext("faultcode"), fault.findtext("faultactor"),
            fault.findtext("detail/faultDetail"))


def _assert_client_soap_fault(response, logged, touched, code):
    assert touched == []  # parsing refused it: no configuration, key, audit log or peer used
    assert response.status == 500
    assert dict(response.headers)["Content-Type"].startswith("text/xml")
    wire_code, actor, fault_id = _soap_fault(response)
    assert (wire_code, actor or "") == (code, "")
    assert [(entry["code"], entry["fault_id"]) for entry in logged] == [(code, fault_id)]


SPELLINGS: Final = {FaultSpelling.CLASSIC: "fault", FaultSpelling.SNAKE: "fault_snake"}


@pytest.mark.parametrize("spelling", list(SPELLINGS), ids=str)
@pytest.mark.parametrize("vector", BAD, ids=_ids(BAD))
def test_bad_soap_request_gets_a_client_fault_and_goes_no_further(vector, spelling):
    proxy, touched = _proxy(spelling)
    request = _soap_request(vector["data"], vector.get("content_type", SOAP_CT))
    response, logged = _call(proxy.soap, request)
    _assert_client_soap_fault(response, logged, touched, vector["expect"][SPELLINGS[spelling]])


@pytest.mark.parametrize("vector", GOOD, ids=_ids(GOOD))
def test_good_soap_request_gets_past_parsing(vector):
    """Control for the test above: a valid request does reach the tripwires."""
    proxy, touched = _proxy(FaultSpelling.CLASSIC)
    _call(proxy.soap, _soap_request(vector["data"], vector.get("content_type", SOAP_CT)))
    assert touched != []


SOAP_EDGE_CASES: Final = {
    "body-over-the-http-limit": (lambda demo: None, LIMITS, "Client.InvalidMessage"),
    "body-over-the-xml-limit": (lambda demo: demo, Limits(max_xml_bytes=1024),
                                "Client.InvalidMessage"),
    "nested-10000-deep": (lambda demo: _deeply_nested(demo, 10_000), LIMITS,
                          "Client.InvalidSoap"),  # not parseable as SOAP: X-Road's code
}


@pytest.mark.parametrize(("make", "limits", "code"), SOAP_EDGE_CASES.values(),
                         ids=SOAP_EDGE_CASES.keys())
def test_oversized_or_deep_soap_request(demo_request, make, limits, code):
    proxy, touched = _proxy(FaultSpelling.CLASSIC, limits)
    response, logged = _call(proxy.soap, _soap_request(make(demo_request)))
    _assert_client_soap_fault(response, logged, touched, code)


def test_soap_request_with_another_content_type(demo_request):
    proxy, touched = _proxy(FaultSpelling.CLASSIC)
    response, logged = _call(proxy.soap, _soap_request(demo_request, "application/json"))
    _assert_client_soap_fault(response, logged, touched, "Client.InvalidSoap")


PORTAL: Final = "MN/GOV/EMONGOLIA/portal"
PERSONS: Final = "/r1/MN/GOV/GASR/civil-registry/persons/%D0%A3%D0%9199112233"

# raw path, X-Road-Client, body, wire code; codec-level cases: tests/unit/test_rest.py
BAD_REST: Final = {
    "malformed-percent-encoding": ("/r1/MN/GOV/GA%ZZSR/civil-registry/persons", PORTAL, b"",
                                   "Client.InvalidServiceIdentifier"),
    "percent-encoded-invalid-utf8": ("/r1/MN/GOV/GA%FFSR/civil-registry/persons", PORTAL, b"",
                                     "Client.BadRequest"),
    "truncated-percent-escape": ("/r1/MN/GOV/GASR/civil-registry/persons%4", PORTAL, b"",
                                 "Client.InvalidServiceIdentifier"),
    "service-outside-charset": ("/r1/MN/GOV/GASR/civil%20registry/persons", PORTAL, b"",
                                "Client.InvalidServiceIdentifier"),
    "not-an-r1-path": ("/r2/MN/GOV/GASR/civil-registry/persons", PORTAL, b"",
                       "Client.BadRequest"),
    "missing-x-road-client": (PERSONS, None, b"", "Client.BadRequest"),
    "client-outside-charset": (PERSONS, "MN/GOV/ЭМОНГОЛИА/portal", b"",
                               "Client.InvalidClientIdentifier"),
    "client-not-an-identifier": (PERSONS, "MN/GOV", b"", "Client.InvalidClientIdentifier"),
    "body-over-the-http-limit": (PERSONS, PORTAL, None, "Client.InvalidMessage"),
}


@pytest.mark.parametrize(("path", "client", "body", "code"), BAD_REST.values(),
                         ids=BAD_REST.keys())
def test_bad_rest_request_gets_a_400_json_error_and_goes_no_further(path, client, body, code):
    proxy, touched = _proxy(FaultSpelling.CLASSIC)
    headers = (("Accept", "application/json"),) + (
        (("X-Road-Client", client),) if client is not None else ())
    response, logged = _call(proxy.rest, HttpRequest("GET", path, "", headers, body))

    assert touched == []
    assert response.status == 400
    wire = dict(response.headers)
    assert wire["Content-Type"].startswith("application/json")
    assert wire["X-Road-Error"] == code
    error = json.loads(response.body)
    assert set(error) == {"type", "message", "detail"}
    assert error["type"] == code
    assert [(entry["code"], entry["fault_id"]) for entry in logged] == [(code, error["detail"])]


def test_good_rest_request_gets_past_parsing():
    proxy, touched = _proxy(FaultSpelling.CLASSIC)
    _call(proxy.rest, HttpRequest("GET", PERSONS, "", (("X-Road-Client", PORTAL),), b""))
    assert touched != []


def test_fault_ids_are_fresh_per_fault(demo_request):
    proxy, _ = _proxy(FaultSpelling.CLASSIC)
    first, _ = _call(proxy.soap, _soap_request(b"not xml"))
    second, _ = _call(proxy.soap, _soap_request(b"not xml"))
    assert _soap_fault(first)[2] != _soap_fault(second)[2]
    assert etree.QName(parse_untrusted(first.body, LIMITS)).localname == "Envelope"
