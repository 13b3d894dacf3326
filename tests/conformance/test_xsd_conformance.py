"""What the bus and its adapters put on the wire, checked against the official X-Road schemas.

SOAP header elements are validated one by one against `xroad.xsd` (+ the securityServer
extension), the client/service/id sequence against `message.xsd`'s `HeaderType`, and
`representedParty` against `representation.xsd`. There is no SOAP 1.1 envelope XSD in the
reference folder, so fault envelopes are checked structurally with lxml (SOAP 1.1 §4.4).
"""

import base64
import copy
import hashlib
import re
import uuid
from typing import Final

import pytest
from fastapi.testclient import TestClient
from lxml import etree

from xroad import errors as e
from xroad.limits import Limits
from xroad.messages.faults import (
    Fault,
    FaultSpelling,
    Origin,
    normalize_code,
    soap_fault_envelope,
    to_fault,
)
from xroad.messages.soap import (
    SHA512_URI,
    check_consistent,
    parse_soap,
    soap_request_hash,
    with_request_hash,
)
from xroad.messages.xml import REPRESENTATION_NS, SOAP_ENV_NS, XROAD_NS, parse_untrusted

LIMITS: Final = Limits()
SOAP_CT: Final = "text/xml; charset=UTF-8"
CIVIL_NS: Final = "http://civil.gov.mn/xroad"
ENVELOPE, HEADER, BODY, FAULT = (f"{{{SOAP_ENV_NS}}}{n}" for n in ("Envelope", "Header", "Body",
                                                                   "Fault"))
DEMO_HEADER_FIELDS: Final = ["client", "service", "id", "userId", "issue", "protocolVersion"]
# faultcode is an xs:QName; X-Road writes it unprefixed, so it must be an NCName.
NCNAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


# -- helpers -------------------------------------------------------------------------------

def _elements(parent: etree._Element) -> list[etree._Element]:
    return [c for c in parent if isinstance(c.tag, str)]


def _header(envelope: bytes) -> list[etree._Element]:
    root = parse_untrusted(envelope, LIMITS)
    header = root.find(HEADER)
    assert header is not None, "SOAP message has no Header"
    return _elements(header)


def _schema_errors(schemas, element: etree._Element) -> list[str]:
    """Reasons `element` (one SOAP header entry) breaks the official schema of its namespace."""
    namespace = etree.QName(element).namespace
    if namespace == XROAD_NS:
        schema = schemas.header
    elif namespace == REPRESENTATION_NS:
        schema = schemas.representation
    else:
        return [f"{element.tag} is in no X-Road header namespace"]
    return [str(err.reason) for err in schema.iter_errors(copy.deepcopy(element))]


def assert_header_conforms(schemas, header: list[etree._Element]) -> None:
    """Every X-Road header entry validates, and client/service/id fit message.xsd's HeaderType."""
    problems = {etree.QName(el).localname: _schema_errors(schemas, el) for el in header}
    assert problems == {name: [] for name in problems}
    by_name = {etree.QName(el).localname: el for el in header}
    wrapped = etree.Element(f"{{{XROAD_NS}}}Header", nsmap={"xrd": XROAD_NS})
    for name in ("client", "service", "securityServer", "id"):
        if name in by_name:
            wrapped.append(copy.deepcopy(by_name[name]))
    assert [str(err.reason) for err in schemas.message.iter_errors(wrapped)] == []


def _shape(el: etree._Element) -> tuple:
    """An element's meaning without its prefixes: name, attributes, text, children."""
    return (el.tag, sorted(el.attrib.items()), (el.text or "").strip(),
            [_shape(c) for c in _elements(el)])


def assert_soap11_fault(envelope: bytes, code: str, message: str | None, fault_id: str) -> None:
    """SOAP 1.1 §4.4 as X-Road writes it: unqualified faultcode, faultstring, an empty
    faultactor, and detail/faultDetail holding the fault id (PR-MESS §2.2)."""
    assert envelope.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = parse_untrusted(envelope, LIMITS)
    assert root.tag == ENVELOPE
    parts = [c.tag for c in _elements(root)]
    assert parts in ([BODY], [HEADER, BODY])
    body = root.find(BODY)
    assert [c.tag for c in _elements(body)] == [FAULT]
    fault = body.find(FAULT)
    assert [c.tag for c in _elements(fault)] == ["faultcode", "faultstring", "faultactor", "detail"]
    assert all(not c.attrib for c in _elements(fault))
    assert fault.findtext("faultcode") == code
    assert NCNAME.fullmatch(code), f"faultcode {code!r} is not an unprefixed xs:QName"
    if message is not None:
        assert fault.findtext("faultstring") == message
    assert fault.find("faultactor").text in (None, "")
    assert [c.tag for c in _elements(fault.find("detail"))] == ["faultDetail"]
    assert fault.findtext("detail/faultDetail") == fault_id


# -- the schemas themselves ----------------------------------------------------------------

def test_schemas_declare_the_protocol_40_header_elements(xroad_schemas):
    assert {"client", "service", "id", "userId", "issue", "protocolVersion", "requestHash",
            "securityServer"} <= set(xroad_schemas.header.elements)
    assert set(xroad_schemas.representation.elements) >= {"representedParty"}


def _demo_field(demo: bytes, name: str) -> etree._Element:
    return next(el for el in _header(demo) if etree.QName(el).localname == name)


IDS: Final = "http://x-road.eu/xsd/identifiers"


def _without_object_type(el):
    del el.attrib[f"{{{IDS}}}objectType"]


def _with_service_code(el):
    etree.SubElement(el, f"{{{IDS}}}serviceCode").text = "getPerson"


def _object_type(value):
    return lambda el: el.set(f"{{{IDS}}}objectType", value)


def _without_service_code(el):
    el.remove(el.find(f"{{{IDS}}}serviceCode"))


def _as_request_hash_with_child(el):
    el.tag = f"{{{XROAD_NS}}}requestHash"
    etree.SubElement(el, "digest")


SCHEMA_REFUSES = {  # controls: validation must not pass vacuously
    "client-without-objectType": ("client", _without_object_type),
    "client-with-serviceCode": ("client", _with_service_code),
    "client-unknown-objectType": ("client", _object_type("PERSON")),
    "service-typed-MEMBER": ("service", _object_type("MEMBER")),
    "service-without-serviceCode": ("service", _without_service_code),
    "requestHash-with-child": ("id", _as_request_hash_with_child),
}


@pytest.mark.parametrize(("field", "spoil"), SCHEMA_REFUSES.values(), ids=SCHEMA_REFUSES.keys())
def test_schema_refuses_broken_header_entries(xroad_schemas, demo_request, field, spoil):
    element = copy.deepcopy(_demo_field(demo_request, field))
    spoil(element)
    assert _schema_errors(xroad_schemas, element) != []


# -- the demo request ----------------------------------------------------------------------

def test_demo_request_header_conforms(xroad_schemas, demo_request):
    header = _header(demo_request)
    assert [etree.QName(el).localname for el in header] == DEMO_HEADER_FIELDS
    assert_header_conforms(xroad_schemas, header)
    parsed = parse_soap(demo_request, SOAP_CT, LIMITS).header  # and the bus reads it
    assert str(parsed.client) == "MN/GOV/EMONGOLIA/portal"
    assert str(parsed.service) == "MN/GOV/GASR/civil-registry/getPerson/v1"


# -- faults the bus emits ------------------------------------------------------------------

# error, raised on, classic code (X-Road <= 7.7), snake code (X-Road 7.8+)
WIRE_CODES: Final[dict[str, tuple[e.XRoadError, Origin, str, str]]] = {
    "access-denied": (e.AccessDenied("no right"), "ServerProxy",
                      "Server.ServerProxy.AccessDenied", "server.serverproxy.access_denied"),
    "unknown-service": (e.UnknownService("x"), "ServerProxy",
                        "Server.ServerProxy.UnknownService", "server.serverproxy.unknown_service"),
    "ssl-authentication": (e.SslAuthenticationFailed("x"), "ServerProxy",
                           "Server.ServerProxy.SslAuthenticationFailed",
                           "server.serverproxy.ssl_authentication_failed"),
    "invalid-signature": (e.InvalidSignature("x"), "ServerProxy",
                          "Server.ServerProxy.InvalidSignatureValue",
                          "server.serverproxy.invalid_signature_value"),
    "network-error": (e.TransportError("x"), "ClientProxy",
                      "Server.ClientProxy.NetworkError", "server.clientproxy.network_error"),
    "outdated-globalconf": (e.OutdatedGlobalConf("x"), "ClientProxy",
                            "Server.ClientProxy.OutdatedGlobalConf",
                            "server.clientproxy.outdated_global_conf"),
    "inconsistent-response": (e.InconsistentResponse("x"), "ClientProxy",
                              "Server.ClientProxy.InconsistentResponse",
                              "server.clientproxy.inconsistent_response"),
    "invalid-soap": (e.InvalidSoap("x"), "ClientProxy", "Client.InvalidSoap",
                     "client.invalid_soap"),
    "invalid-protocol-version": (e.InvalidProtocolVersion("x"), "ClientProxy",
                                 "Client.InvalidProtocolVersion",
                                 "client.invalid_protocol_version"),
    "invalid-client-identifier": (e.InvalidClientIdentifier("x"), "ClientProxy",
                                  "Client.InvalidClientIdentifier",
                                  "client.invalid_client_identifier"),
    "bad-request": (e.BadRequest("x"), "ClientProxy", "Client.BadRequest", "client.bad_request"),
    "internal-error": (e.InternalError("x"), "ServerProxy",
                       "Server.ServerProxy.InternalError", "server.serverproxy.internal_error"),
}


@pytest.mark.parametrize("spelling", list(FaultSpelling), ids=str)
@pytest.mark.parametrize(("err", "origin", "classic", "snake"), WIRE_CODES.values(),
                         ids=WIRE_CODES.keys())
def test_soap_fault_envelope_is_soap11_with_xroad_code(err, origin, classic, snake, spelling):
    fault_id = str(uuid.uuid4())
    fault = to_fault(err, origin, spelling, fault_id)
    expected = classic if spelling is FaultSpelling.CLASSIC else snake
    assert fault.code == expected
    assert normalize_code(classic) == normalize_code(snake)  # one code, two spellings
    assert_soap11_fault(soap_fault_envelope(fault), expected, str(err), fault_id)


def test_soap_fault_text_is_escaped_not_interpreted():
    fault = Fault("Client.InvalidSoap", "<b>&amp; ]]> \u0411", str(uuid.uuid4()), 400)
    assert_soap11_fault(soap_fault_envelope(fault), fault.code, fault.message, fault.fault_id)


def test_header_less_fault_is_read_as_a_fault():
    fault = to_fault(e.AccessDenied("no"), "ServerProxy", FaultSpelling.CLASSIC, "f-1")
    assert parse_soap(soap_fault_envelope(fault), SOAP_CT, LIMITS).is_fault


# -- requestHash ---------------------------------------------------------------------------

def _response_to(request: bytes) -> bytes:
    """What a service answers: the request's header echoed, the wrapper renamed `...Response`."""
    return request.replace(b"civ:getPerson>", b"civ:getPersonResponse>").replace(
        b"<civ:getPerson ", b"<civ:getPersonResponse ")


@pytest.mark.parametrize("forged", [False, True], ids=["none-from-service", "forged-by-service"])
def test_response_with_request_hash_conforms(xroad_schemas, demo_request, forged):
    response = _response_to(demo_request)
    if forged:
        response = response.replace(
            b"</SOAP-ENV:Header>",
            b'<xrd:requestHash algorithmId="urn:forged">AAAA</xrd:requestHash></SOAP-ENV:Header>')
    request_hash = soap_request_hash(demo_request)

    out = with_request_hash(response, request_hash, LIMITS)

    header = _header(out)
    names = [etree.QName(el).localname for el in header]
    assert names == [*DEMO_HEADER_FIELDS, "requestHash"]
    assert_header_conforms(xroad_schemas, header)
    request_hash_el = header[-1]
    assert request_hash_el.get("algorithmId") == SHA512_URI
    assert request_hash_el.text == base64.b64encode(
        hashlib.sha512(demo_request).digest()).decode()
    assert [_shape(el) for el in header[:-1]] == [_shape(el) for el in _header(demo_request)]


# -- the civil registry's SOAP answers -----------------------------------------------------

def _post(client: TestClient, body: bytes):
    return client.post("/soap", content=body, headers={"Content-Type": SOAP_CT})


@pytest.mark.parametrize("service_code", ["getPerson", "getFamily"])
def test_civil_registry_response_echoes_a_conforming_header(xroad_schemas, civil_client,
                                                            demo_request, service_code):
    request = demo_request.replace(b"getPerson", service_code.encode())
    reply = _post(civil_client, request)

    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/xml")
    header = _header(reply.content)
    assert_header_conforms(xroad_schemas, header)
    # PR-MESS: every request header, in the same order, with the same values.
    assert [_shape(el) for el in header] == [_shape(el) for el in _header(request)]
    body = parse_untrusted(reply.content, LIMITS).find(BODY)
    assert [c.tag for c in _elements(body)] == [f"{{{CIVIL_NS}}}{service_code}Response"]


def test_civil_registry_response_passes_the_consumer_checks(civil_client, demo_request):
    """Through the provider's requestHash and the client proxy's consistency check."""
    reply = _post(civil_client, demo_request)
    expected_hash = soap_request_hash(demo_request)
    answer = parse_soap(with_request_hash(reply.content, expected_hash, LIMITS), SOAP_CT, LIMITS)
    check_consistent(parse_soap(demo_request, SOAP_CT, LIMITS).header, answer, expected_hash)


def test_civil_registry_business_fault_echoes_a_conforming_header(xroad_schemas, civil_client,
                                                                  demo_request):
    request = demo_request.replace("УБ99112233".encode(), b"XX")
    reply = _post(civil_client, request)

    assert reply.status_code == 500
    header = _header(reply.content)
    assert_header_conforms(xroad_schemas, header)
    assert [_shape(el) for el in header] == [_shape(el) for el in _header(request)]
    fault = parse_untrusted(reply.content, LIMITS).find(f"{BODY}/{FAULT}")
    fault_id = fault.findtext("detail/faultDetail")
    assert uuid.UUID(fault_id)
    assert_soap11_fault(reply.content, "Client.InvalidRegisterNumber", None, fault_id)
    assert parse_soap(reply.content, SOAP_CT, LIMITS).is_fault


def test_civil_registry_fault_for_unparseable_request_is_soap11(civil_client):
    reply = _post(civil_client, b"not xml")
    assert reply.status_code == 500
    fault = parse_untrusted(reply.content, LIMITS).find(f"{BODY}/{FAULT}")
    fault_id = fault.findtext("detail/faultDetail")
    assert uuid.UUID(fault_id)
    assert_soap11_fault(reply.content, "Client", None, fault_id)
