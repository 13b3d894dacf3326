"""`getWsdl` and `getOpenAPI`: a provider's service descriptions, internal addresses masked.

X-Road hides where the provider's information system really is: every endpoint address in
a WSDL becomes `http://example.org/xroad-endpoint`, and so do an OpenAPI document's servers.
The WSDL travels as a MIME attachment of the SOAP answer, as X-Road sends it.
"""

from __future__ import annotations

import json
import secrets
from copy import deepcopy
from typing import Final

from lxml import etree

from xroad.errors import InvalidMessage, InvalidSoap, ServiceFailed
from xroad.limits import Limits
from xroad.messages.xml import SOAP_ENV_NS, XROAD_NS, parse_untrusted

MASKED_ENDPOINT: Final = "http://example.org/xroad-endpoint"
GET_WSDL: Final = "getWsdl"
GET_OPENAPI: Final = "getOpenAPI"
_ADDRESS_TAGS: Final = ("{http://schemas.xmlsoap.org/wsdl/soap/}address",
                        "{http://schemas.xmlsoap.org/wsdl/soap12/}address")


def requested_service(soap_request: bytes, limits: Limits) -> tuple[str, str | None]:
    """The `serviceCode` (and `serviceVersion`) a `getWsdl` request asks about."""
    body = parse_untrusted(soap_request, limits).find(f"{{{SOAP_ENV_NS}}}Body")
    wrapper = body[0] if body is not None and len(body) else None
    code = wrapper.findtext(f"{{{XROAD_NS}}}serviceCode") if wrapper is not None else None
    if not code:
        raise InvalidSoap("getWsdl names no serviceCode")
    version = wrapper.findtext(f"{{{XROAD_NS}}}serviceVersion") if wrapper is not None else None
    return code.strip(), version.strip() if version else None


def mask_wsdl(wsdl: bytes, limits: Limits) -> bytes:
    try:
        root = parse_untrusted(wsdl, limits)
    except InvalidMessage as e:
        raise ServiceFailed(f"the service's WSDL is not well-formed: {e}") from e
    for tag in _ADDRESS_TAGS:
        for address in root.iter(tag):
            address.set("location", MASKED_ENDPOINT)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def mask_openapi(document: bytes) -> bytes:
    try:
        doc = json.loads(document)
    except ValueError as e:
        raise ServiceFailed("the service's OpenAPI description is not JSON") from e
    if not isinstance(doc, dict):
        raise ServiceFailed("the service's OpenAPI description is not a JSON object")
    doc["servers"] = [{"url": MASKED_ENDPOINT}]
    return json.dumps(doc, ensure_ascii=False).encode()


def wsdl_answer_envelope(soap_request: bytes, code: str, version: str | None,
                         limits: Limits) -> bytes:
    """The SOAP part of the answer: the request's headers echoed and `getWsdlResponse`."""
    request = parse_untrusted(soap_request, limits)
    envelope = etree.Element(f"{{{SOAP_ENV_NS}}}Envelope",
                             nsmap={"SOAP-ENV": SOAP_ENV_NS, "xrd": XROAD_NS})
    header = request.find(f"{{{SOAP_ENV_NS}}}Header")
    if header is not None:
        copy = etree.SubElement(envelope, f"{{{SOAP_ENV_NS}}}Header")
        for child in header.iterchildren(etree.Element):
            copy.append(deepcopy(child))
    answer = etree.SubElement(etree.SubElement(envelope, f"{{{SOAP_ENV_NS}}}Body"),
                              f"{{{XROAD_NS}}}getWsdlResponse")
    etree.SubElement(answer, f"{{{XROAD_NS}}}serviceCode").text = code
    if version is not None:
        etree.SubElement(answer, f"{{{XROAD_NS}}}serviceVersion").text = version
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def with_wsdl_attachment(soap_answer: bytes, wsdl: bytes) -> tuple[str, bytes]:
    """`multipart/related`: the SOAP answer, then the WSDL (X-Road's getWsdl form)."""
    while True:
        boundary = "xroad-" + secrets.token_hex(16)
        if boundary.encode() not in soap_answer and boundary.encode() not in wsdl:
            break
    marker = b"--" + boundary.encode()
    body = b"\r\n".join([
        marker, b"Content-Type: text/xml; charset=UTF-8", b"Content-Transfer-Encoding: 8bit",
        b"", soap_answer,
        marker, b"Content-Type: text/xml; charset=UTF-8", b"Content-Transfer-Encoding: binary",
        b"Content-ID: <wsdl>", b"", wsdl,
        marker + b"--", b""])
    return f'multipart/related; type="text/xml"; boundary="{boundary}"', body
