"""The adapter SOAP toolkit: envelope shape, header echo, faults."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from adapters.toolkit.soap import (
    SoapRequest,
    build_fault,
    build_response,
    parse_request,
    response_wrapper,
)
from xroad.errors import InvalidMessage, InvalidSoap
from xroad.limits import Limits
from xroad.messages.xml import IDENTIFIERS_NS, SOAP_ENV_NS, XROAD_NS, parse_untrusted

LIMITS = Limits()
SERVICE_NS = "http://example.gov.mn/xroad"


def _request(
    *,
    service_code: str = "getThing",
    header_service_code: str | None = None,
    user_id: str = "MN99112233",
    issue: str | None = None,
    prefixes: tuple[str, str, str] = ("soapenv", "xrd", "id"),
) -> bytes:
    env, xrd, iden = prefixes
    nsmap = {env: SOAP_ENV_NS, xrd: XROAD_NS, iden: IDENTIFIERS_NS, "ns": SERVICE_NS}
    envelope = etree.Element(f"{{{SOAP_ENV_NS}}}Envelope", nsmap=nsmap)
    header = etree.SubElement(envelope, f"{{{SOAP_ENV_NS}}}Header")
    client = etree.SubElement(header, f"{{{XROAD_NS}}}client")
    client.set(f"{{{IDENTIFIERS_NS}}}objectType", "SUBSYSTEM")
    for name, value in [("xRoadInstance", "MN"), ("memberClass", "GOV"), ("memberCode", "X")]:
        etree.SubElement(client, f"{{{IDENTIFIERS_NS}}}{name}").text = value
    service = etree.SubElement(header, f"{{{XROAD_NS}}}service")
    service.set(f"{{{IDENTIFIERS_NS}}}objectType", "SERVICE")
    etree.SubElement(service, f"{{{IDENTIFIERS_NS}}}xRoadInstance").text = "MN"
    code = etree.SubElement(service, f"{{{IDENTIFIERS_NS}}}serviceCode")
    code.text = header_service_code or service_code
    etree.SubElement(header, f"{{{XROAD_NS}}}id").text = "a1b2"
    etree.SubElement(header, f"{{{XROAD_NS}}}userId").text = user_id
    if issue is not None:
        etree.SubElement(header, f"{{{XROAD_NS}}}issue").text = issue
    etree.SubElement(header, f"{{{XROAD_NS}}}protocolVersion").text = "4.0"
    body = etree.SubElement(envelope, f"{{{SOAP_ENV_NS}}}Body")
    etree.SubElement(body, f"{{{SERVICE_NS}}}{service_code}")
    return etree.tostring(envelope, encoding="UTF-8", xml_declaration=True)


def _exc14n(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True, with_tail=False)


def _echo(request_bytes: bytes) -> tuple[SoapRequest, etree._Element]:
    request = parse_request(request_bytes, LIMITS)
    wrapper = response_wrapper(request, SERVICE_NS, "ns")
    return request, parse_untrusted(build_response(request, wrapper), LIMITS)


@pytest.mark.parametrize("prefixes", [("soapenv", "xrd", "id"), ("S", "xroad", "iden")])
def test_headers_are_echoed_in_order_with_the_same_values(
    prefixes: tuple[str, str, str],
) -> None:
    request, response = _echo(_request(issue="case 42", prefixes=prefixes))
    echoed = response.find(f"{{{SOAP_ENV_NS}}}Header")
    assert echoed is not None
    assert [_exc14n(e) for e in echoed] == [_exc14n(e) for e in request.headers]
    assert [etree.QName(e).localname for e in echoed] == [
        "client",
        "service",
        "id",
        "userId",
        "issue",
        "protocolVersion",
    ]


@given(st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cn")), max_size=40))
def test_any_header_value_survives_the_echo(value: str) -> None:
    request, response = _echo(_request(user_id=value, issue=value))
    assert response.findtext(f".//{{{XROAD_NS}}}userId") == value
    assert response.findtext(f".//{{{XROAD_NS}}}issue") == value
    assert (request.header_text("userId") or "") == value


def test_request_parts() -> None:
    request = parse_request(_request(), LIMITS)
    assert request.service_code == "getThing"
    assert request.namespace == SERVICE_NS
    assert request.header_text("id") == "a1b2"
    assert request.header_text("securityServer") is None


def test_response_wrapper_is_service_code_response_in_the_service_namespace() -> None:
    _, response = _echo(_request())
    body = response.find(f"{{{SOAP_ENV_NS}}}Body")
    assert body is not None
    assert [child.tag for child in body] == [f"{{{SERVICE_NS}}}getThingResponse"]


def test_response_is_utf8_with_declaration() -> None:
    request = parse_request(_request(user_id="Болд"), LIMITS)
    response = build_response(request, response_wrapper(request, SERVICE_NS, "ns"))
    assert response.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert "Болд".encode() in response


def test_envelope_without_header_is_accepted() -> None:
    data = (
        f'<e:Envelope xmlns:e="{SOAP_ENV_NS}"><e:Body>'
        f'<getThing xmlns="{SERVICE_NS}"/></e:Body></e:Envelope>'
    ).encode()
    request = parse_request(data, LIMITS)
    assert request.headers == ()
    response = parse_untrusted(build_response(request, etree.Element("r")), LIMITS)
    assert response.find(f"{{{SOAP_ENV_NS}}}Header") is None


def test_comments_and_whitespace_are_not_headers() -> None:
    data = _request().replace(b"<soapenv:Body>", b"<!-- note --><soapenv:Body>")
    data = data.replace(b"<xrd:id>", b"\n  <!-- c --><xrd:id>")
    assert len(parse_request(data, LIMITS).headers) == 5


@pytest.mark.parametrize(
    "data",
    [
        b"<notSoap/>",
        b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><x/></e:Body>'
        b"</e:Envelope>",  # SOAP 1.2 is not X-Road
        f'<e:Envelope xmlns:e="{SOAP_ENV_NS}"/>'.encode(),
        f'<e:Envelope xmlns:e="{SOAP_ENV_NS}"><e:Body/></e:Envelope>'.encode(),
        f'<e:Envelope xmlns:e="{SOAP_ENV_NS}"><e:Body><a/><b/></e:Body></e:Envelope>'.encode(),
        f'<e:Envelope xmlns:e="{SOAP_ENV_NS}"><e:Body><a/></e:Body><e:Header/>'
        f"</e:Envelope>".encode(),
        f'<e:Envelope xmlns:e="{SOAP_ENV_NS}"><e:Body><a/></e:Body><e:Body><a/></e:Body>'
        f"</e:Envelope>".encode(),
    ],
    ids=["not-envelope", "soap12", "no-body", "empty-body", "two-wrappers", "header-last", "two"],
)
def test_malformed_envelopes_are_refused(data: bytes) -> None:
    with pytest.raises(InvalidSoap):
        parse_request(data, LIMITS)


def test_body_must_match_the_service_code_in_the_header() -> None:
    with pytest.raises(InvalidSoap, match="does not match"):
        parse_request(_request(service_code="getThing", header_service_code="getOther"), LIMITS)


def test_untrusted_xml_goes_through_the_hardened_parser() -> None:
    with pytest.raises(InvalidMessage):
        parse_request(b'<!DOCTYPE x [<!ENTITY e "x">]><x>&e;</x>', LIMITS)
    with pytest.raises(InvalidMessage):
        parse_request(_request(), Limits(max_xml_bytes=100))


def test_fault_shape() -> None:
    request = parse_request(_request(), LIMITS)
    data = build_fault("Client.Bad", "no & <good>", fault_id="f-1", headers=request.headers)
    envelope = parse_untrusted(data, LIMITS)
    fault = envelope.find(f"{{{SOAP_ENV_NS}}}Body/{{{SOAP_ENV_NS}}}Fault")
    assert fault is not None
    assert [child.tag for child in fault] == ["faultcode", "faultstring", "faultactor", "detail"]
    assert fault.findtext("faultcode") == "Client.Bad"
    assert fault.findtext("faultstring") == "no & <good>"
    assert fault.findtext("faultactor") == ""
    assert fault.findtext("detail/faultDetail") == "f-1"
    header = envelope.find(f"{{{SOAP_ENV_NS}}}Header")
    assert header is not None
    assert len(header) == 5


def test_fault_without_id_or_headers() -> None:
    envelope = parse_untrusted(build_fault("Server", "oops"), LIMITS)
    assert envelope.find(f"{{{SOAP_ENV_NS}}}Header") is None
    assert envelope.find(f".//{{{SOAP_ENV_NS}}}Fault/detail") is None
