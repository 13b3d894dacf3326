"""X-Road SOAP 4.0 messages: header fields, body wrapper, `requestHash` (pure codec).

Any namespace prefixes are accepted; digests and signatures always use the raw bytes, the
tree is parsed only to route and check.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Final

from lxml import etree

from xroad.errors import (
    DuplicateHeaderField,
    InconsistentHeaders,
    InconsistentResponse,
    InvalidBody,
    InvalidClientIdentifier,
    InvalidMessage,
    InvalidProtocolVersion,
    InvalidServiceIdentifier,
    InvalidSoap,
    MessageTooLarge,
    MissingHeaderField,
    WrapperNotServiceCode,
)
from xroad.identifiers import ClientId, ObjectType, SecurityServerId, ServiceId
from xroad.limits import Limits
from xroad.messages.xml import (
    IDENTIFIERS_NS,
    REPRESENTATION_NS,
    SOAP_ENV_NS,
    XROAD_NS,
    parse_untrusted,
)

SHA512_URI: Final = "http://www.w3.org/2001/04/xmlenc#sha512"
PROTOCOL_VERSION: Final = "4.0"
_SINGLE: Final = ("client", "service", "id", "userId", "issue", "protocolVersion", "requestHash",
                  "securityServer")


@dataclass(frozen=True, slots=True)
class SoapHeader:
    client: ClientId
    service: ServiceId
    message_id: str
    user_id: str | None
    issue: str | None
    protocol_version: str
    represented_party: str | None = None
    security_server: SecurityServerId | None = None  # PR-TARGETSS: pin one provider server


@dataclass(frozen=True, slots=True)
class SoapMessage:
    raw: bytes  # exactly as received
    content_type: str
    header: SoapHeader | None  # None only for a Fault sent without X-Road headers
    is_fault: bool
    request_hash: str | None  # only in responses


def _text(el: etree._Element) -> str:
    return (el.text or "").strip()


def _id_fields(el: etree._Element) -> tuple[str | None, dict[str, str]]:
    object_type = el.get(f"{{{IDENTIFIERS_NS}}}objectType")
    fields: dict[str, str] = {}
    for child in el.iterchildren(etree.Element):
        q = etree.QName(child)
        if q.namespace != IDENTIFIERS_NS or q.localname in fields:
            raise InvalidSoap(f"unexpected element {q.localname!r} in identifier")
        fields[q.localname] = _text(child)
    return object_type, fields


def parse_client_id(el: etree._Element) -> ClientId:
    object_type, f = _id_fields(el)
    try:
        client = ClientId(f["xRoadInstance"], f["memberClass"], f["memberCode"],
                          f.get("subsystemCode"))
    except KeyError as e:
        raise InvalidClientIdentifier(f"client identifier lacks {e.args[0]}") from e
    if object_type != client.object_type:
        raise InvalidClientIdentifier(f"client objectType {object_type!r} does not match")
    return client


def parse_service_id(el: etree._Element) -> ServiceId:
    object_type, f = _id_fields(el)
    if object_type != ObjectType.SERVICE:
        raise InvalidServiceIdentifier(f"service objectType {object_type!r} is not SERVICE")
    try:
        provider = ClientId(f["xRoadInstance"], f["memberClass"], f["memberCode"],
                            f.get("subsystemCode"))
        return ServiceId(provider, f["serviceCode"], f.get("serviceVersion"))
    except KeyError as e:
        raise InvalidServiceIdentifier(f"service identifier lacks {e.args[0]}") from e
    except InvalidClientIdentifier as e:
        raise InvalidServiceIdentifier(str(e)) from e


def parse_security_server_id(el: etree._Element) -> SecurityServerId:
    object_type, f = _id_fields(el)
    if object_type != ObjectType.SERVER:
        raise InvalidSoap(f"securityServer objectType {object_type!r} is not SERVER")
    try:
        return SecurityServerId(ClientId(f["xRoadInstance"], f["memberClass"], f["memberCode"]),
                                f["serverCode"])
    except KeyError as e:
        raise InvalidSoap(f"securityServer identifier lacks {e.args[0]}") from e


def _header_fields(header: etree._Element) -> dict[str, etree._Element]:
    found: dict[str, etree._Element] = {}
    for child in header.iterchildren(etree.Element):
        q = etree.QName(child)
        if q.namespace == XROAD_NS or (q.namespace, q.localname) == (
                REPRESENTATION_NS, "representedParty"):
            key = q.localname
        else:
            continue
        if key in _SINGLE and key in found:
            raise DuplicateHeaderField(f"duplicate header field {key!r}")
        found[key] = child
    return found


def _party(el: etree._Element) -> str:
    """`[partyClass/]partyCode` of a `representedParty` header."""
    _, fields = _id_fields_any(el)
    code = fields.get("partyCode", "")
    return f"{fields['partyClass']}/{code}" if "partyClass" in fields else code


def _id_fields_any(el: etree._Element) -> tuple[None, dict[str, str]]:
    return None, {etree.QName(c).localname: _text(c) for c in el.iterchildren(etree.Element)}


def _envelope_parts(root: etree._Element) -> tuple[etree._Element | None, etree._Element]:
    if root.tag != f"{{{SOAP_ENV_NS}}}Envelope":
        raise InvalidSoap("root element is not a SOAP 1.1 Envelope")
    header = root.find(f"{{{SOAP_ENV_NS}}}Header")
    body = root.find(f"{{{SOAP_ENV_NS}}}Body")
    if body is None:
        raise InvalidSoap("SOAP message has no Body")
    return header, body


def parse_soap(raw: bytes, content_type: str, limits: Limits) -> SoapMessage:
    """Parse an X-Road SOAP message (request, response, or a fault with or without headers)."""
    try:
        root = parse_untrusted(raw, limits)
    except MessageTooLarge:
        raise
    except InvalidMessage as e:  # X-Road answers InvalidSoap for anything that is not SOAP
        raise InvalidSoap(str(e)) from e
    header_el, body = _envelope_parts(root)
    payload = list(body.iterchildren(etree.Element))
    is_fault = bool(payload) and payload[0].tag == f"{{{SOAP_ENV_NS}}}Fault"
    if header_el is None:
        if is_fault:  # PR-MESS §2.2: a fault may come without X-Road headers
            return SoapMessage(raw, content_type, None, True, None)
        raise InvalidSoap("SOAP message has no Header")
    fields = _header_fields(header_el)
    for required in ("client", "service", "id", "protocolVersion"):
        if required not in fields:
            raise MissingHeaderField(f"missing header field {required!r}")
    version = _text(fields["protocolVersion"])
    if version != PROTOCOL_VERSION:
        raise InvalidProtocolVersion(f"protocolVersion {version!r} is not {PROTOCOL_VERSION}")
    party = fields.get("representedParty")
    header = SoapHeader(
        client=parse_client_id(fields["client"]),
        service=parse_service_id(fields["service"]),
        message_id=_text(fields["id"]),
        user_id=_text(fields["userId"]) if "userId" in fields else None,
        issue=_text(fields["issue"]) if "issue" in fields else None,
        protocol_version=version,
        represented_party=_party(party) if party is not None else None,
        security_server=(parse_security_server_id(fields["securityServer"])
                         if "securityServer" in fields else None),
    )
    if not header.message_id:
        raise InvalidSoap("header field 'id' is empty")
    if not is_fault:
        if len(payload) != 1:
            raise InvalidBody("SOAP Body must hold exactly one wrapper element")
        wrapper = etree.QName(payload[0]).localname
        code = header.service.service_code
        if wrapper not in (code, f"{code}Response"):
            raise WrapperNotServiceCode(
                f"body element {wrapper!r} does not match service code {code!r}")
    request_hash = _text(fields["requestHash"]) if "requestHash" in fields else None
    return SoapMessage(raw, content_type, header, is_fault, request_hash)


def parse_soap_request(raw: bytes, content_type: str, limits: Limits) -> SoapHeader:
    """A client's request: it must carry the X-Road headers and must not be a Fault."""
    message = parse_soap(raw, content_type, limits)
    if message.header is None or message.is_fault:
        raise InvalidSoap("a request must be an X-Road message, not a SOAP Fault")
    return message.header


def soap_request_hash(raw: bytes) -> str:
    return base64.b64encode(hashlib.sha512(raw).digest()).decode()


def with_request_hash(response_raw: bytes, request_hash: str, limits: Limits) -> bytes:
    """Replace any `requestHash` the service wrote with ours over the exact request bytes."""
    root = parse_untrusted(response_raw, limits)
    header, _ = _envelope_parts(root)
    if header is None:
        raise InvalidSoap("SOAP response has no Header")
    for old in header.findall(f"{{{XROAD_NS}}}requestHash"):
        header.remove(old)
    el = etree.SubElement(header, f"{{{XROAD_NS}}}requestHash", algorithmId=SHA512_URI,
                          nsmap={"xrd": XROAD_NS})
    el.text = request_hash
    docinfo: etree.DocInfo = root.getroottree().docinfo
    out = etree.tostring(root, xml_declaration=True, encoding=docinfo.encoding or "UTF-8")
    return out.encode() if isinstance(out, str) else out


def check_consistent(request: SoapHeader, response: SoapMessage, expected_hash: str) -> None:
    """The response must echo the request's header and carry the hash of the request bytes."""
    if response.request_hash != expected_hash:
        raise InconsistentResponse("requestHash does not match the request sent")
    if response.header != request:
        raise InconsistentHeaders("response header does not echo the request header")
