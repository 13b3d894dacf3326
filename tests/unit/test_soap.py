"""X-Road SOAP 4.0: header fields under any prefixes, body wrapper, requestHash, consistency."""

import base64
import hashlib

import pytest
from lxml import etree

from xroad.errors import (
    InconsistentResponse,
    InvalidClientIdentifier,
    InvalidProtocolVersion,
    InvalidServiceIdentifier,
    InvalidSoap,
)
from xroad.identifiers import ClientId, ServiceId
from xroad.limits import Limits
from xroad.messages.soap import (
    SHA512_URI,
    SoapHeader,
    check_consistent,
    parse_soap,
    soap_request_hash,
    with_request_hash,
)
from xroad.messages.xml import (
    IDENTIFIERS_NS,
    REPRESENTATION_NS,
    SOAP_ENV_NS,
    XROAD_NS,
    parse_untrusted,
)

LIMITS = Limits()
CT = "text/xml; charset=UTF-8"
SERVICE_NS = "http://gasr.gov.mn/xroad"

CLIENT = [("xRoadInstance", "MN"), ("memberClass", "GOV"), ("memberCode", "ALAMGAC"),
          ("subsystemCode", "land")]
SERVICE = [("xRoadInstance", "MN"), ("memberClass", "GOV"), ("memberCode", "GASR"),
           ("subsystemCode", "civil"), ("serviceCode", "getPerson"), ("serviceVersion", "v1")]
EXPECTED = SoapHeader(
    client=ClientId("MN", "GOV", "ALAMGAC", "land"),
    service=ServiceId.parse("MN/GOV/GASR/civil/getPerson/v1"),
    message_id="msg-1",
    user_id="MN123",
    issue=None,
    protocol_version="4.0",
)


def _id(tag, object_type, fields, x="xrd", i="id"):
    inner = "".join(f"<{i}:{k}>{v}</{i}:{k}>" for k, v in fields)
    attr = "" if object_type is None else f' {i}:objectType="{object_type}"'
    return f"<{x}:{tag}{attr}>{inner}</{x}:{tag}>"


def _fields(x="xrd", i="id"):
    return {
        "client": _id("client", "SUBSYSTEM", CLIENT, x, i),
        "service": _id("service", "SERVICE", SERVICE, x, i),
        "id": f"<{x}:id>msg-1</{x}:id>",
        "userId": f"<{x}:userId>MN123</{x}:userId>",
        "protocolVersion": f"<{x}:protocolVersion>4.0</{x}:protocolVersion>",
    }


def _envelope(fields, body=f'<ns:getPerson xmlns:ns="{SERVICE_NS}"><ns:rn>x</ns:rn></ns:getPerson>',
              env="SOAP-ENV", x="xrd", i="id"):
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>'
        f'<{env}:Envelope xmlns:{env}="{SOAP_ENV_NS}" xmlns:{x}="{XROAD_NS}" '
        f'xmlns:{i}="{IDENTIFIERS_NS}" xmlns:repr="{REPRESENTATION_NS}">'
        f'<{env}:Header>{"".join(fields)}</{env}:Header>'
        f"<{env}:Body>{body}</{env}:Body></{env}:Envelope>"
    ).encode()


def _request(**replace):
    fields = _fields()
    fields.update(replace)
    return _envelope(v for v in fields.values() if v is not None)


def _response(request_hash=None):
    fields = list(_fields().values())
    if request_hash is not None:
        fields.append(
            f'<xrd:requestHash algorithmId="{SHA512_URI}">{request_hash}</xrd:requestHash>')
    return _envelope(fields, body=f'<ns:getPersonResponse xmlns:ns="{SERVICE_NS}"/>')


DEFAULT_NAMESPACES = f"""<?xml version="1.0"?>
<Envelope xmlns="{SOAP_ENV_NS}">
 <Header>
  <client xmlns="{XROAD_NS}" xmlns:t="{IDENTIFIERS_NS}" t:objectType="SUBSYSTEM">
   <xRoadInstance xmlns="{IDENTIFIERS_NS}">MN</xRoadInstance>
   <memberClass xmlns="{IDENTIFIERS_NS}">GOV</memberClass>
   <memberCode xmlns="{IDENTIFIERS_NS}">ALAMGAC</memberCode>
   <subsystemCode xmlns="{IDENTIFIERS_NS}">land</subsystemCode>
  </client>
  <service xmlns="{XROAD_NS}" xmlns:t="{IDENTIFIERS_NS}" t:objectType="SERVICE">
   <xRoadInstance xmlns="{IDENTIFIERS_NS}">MN</xRoadInstance>
   <memberClass xmlns="{IDENTIFIERS_NS}">GOV</memberClass>
   <memberCode xmlns="{IDENTIFIERS_NS}">GASR</memberCode>
   <subsystemCode xmlns="{IDENTIFIERS_NS}">civil</subsystemCode>
   <serviceCode xmlns="{IDENTIFIERS_NS}">getPerson</serviceCode>
   <serviceVersion xmlns="{IDENTIFIERS_NS}">v1</serviceVersion>
  </service>
  <id xmlns="{XROAD_NS}">
    msg-1
  </id>
  <userId xmlns="{XROAD_NS}">MN123</userId>
  <protocolVersion xmlns="{XROAD_NS}">4.0</protocolVersion>
  <other xmlns="urn:ignored">kept out of the header</other>
 </Header>
 <Body><getPerson xmlns="{SERVICE_NS}"/></Body>
</Envelope>""".encode()


@pytest.mark.parametrize(("env", "x", "i"), [
    pytest.param("SOAP-ENV", "xrd", "id", id="xrd-id"),
    pytest.param("soapenv", "xroad", "iden", id="xroad-iden"),
    pytest.param("s", "x", "i", id="one-letter"),
])
def test_header_parsed_under_any_prefix(env, x, i):
    raw = _envelope(_fields(x, i).values(), env=env, x=x, i=i)
    message = parse_soap(raw, CT, LIMITS)
    assert message.header == EXPECTED
    assert message.raw is raw
    assert message.content_type == CT
    assert (message.is_fault, message.request_hash) == (False, None)


def test_header_parsed_with_default_namespaces_and_whitespace():
    assert parse_soap(DEFAULT_NAMESPACES, CT, LIMITS).header == EXPECTED


def test_optional_issue_and_member_client():
    raw = _request(client=_id("client", "MEMBER", CLIENT[:3]),
                   issue="<xrd:issue>ticket-7</xrd:issue>", userId=None)
    header = parse_soap(raw, CT, LIMITS).header
    assert header.client == ClientId("MN", "GOV", "ALAMGAC")
    assert (header.issue, header.user_id) == ("ticket-7", None)


@pytest.mark.parametrize("field", ["client", "service", "id", "protocolVersion"])
def test_missing_required_header_field(field):
    with pytest.raises(InvalidSoap, match=field):
        parse_soap(_request(**{field: None}), CT, LIMITS)


def test_empty_message_id():
    with pytest.raises(InvalidSoap, match="empty"):
        parse_soap(_request(id="<xrd:id> </xrd:id>"), CT, LIMITS)


@pytest.mark.parametrize("version", ["3.1", "4.1", "", "4"])
def test_wrong_protocol_version(version):
    raw = _request(protocolVersion=f"<xrd:protocolVersion>{version}</xrd:protocolVersion>")
    with pytest.raises(InvalidProtocolVersion):
        parse_soap(raw, CT, LIMITS)


@pytest.mark.parametrize("field", ["client", "service", "id", "userId", "protocolVersion"])
def test_duplicate_header_field(field):
    fields = _fields()
    raw = _envelope([*fields.values(), fields[field]])
    with pytest.raises(InvalidSoap, match="duplicate"):
        parse_soap(raw, CT, LIMITS)


BAD_IDENTIFIERS = {
    "client-member-type-with-subsystem": (
        {"client": _id("client", "MEMBER", CLIENT)}, InvalidClientIdentifier),
    "client-subsystem-type-without-subsystem": (
        {"client": _id("client", "SUBSYSTEM", CLIENT[:3])}, InvalidClientIdentifier),
    "client-without-object-type": (
        {"client": _id("client", None, CLIENT)}, InvalidClientIdentifier),
    "client-service-type": ({"client": _id("client", "SERVICE", CLIENT)}, InvalidClientIdentifier),
    "client-lacks-member-code": (
        {"client": _id("client", "MEMBER", CLIENT[:2])}, InvalidClientIdentifier),
    "client-bad-character": (
        {"client": _id("client", "MEMBER", [*CLIENT[:2], ("memberCode", "A/B")])},
        InvalidClientIdentifier),
    "service-subsystem-type": (
        {"service": _id("service", "SUBSYSTEM", SERVICE)}, InvalidServiceIdentifier),
    "service-without-object-type": (
        {"service": _id("service", None, SERVICE)}, InvalidServiceIdentifier),
    "service-lacks-service-code": (
        {"service": _id("service", "SERVICE", SERVICE[:4])}, InvalidServiceIdentifier),
    "service-bad-provider": (
        {"service": _id("service", "SERVICE", [("xRoadInstance", "M N"), *SERVICE[1:]])},
        InvalidServiceIdentifier),
    "service-foreign-element": (
        {"service": _id("service", "SERVICE", SERVICE).replace(
            "</xrd:service>", "<xrd:serviceCode>x</xrd:serviceCode></xrd:service>")},
        InvalidSoap),
}


@pytest.mark.parametrize(("replace", "error"), BAD_IDENTIFIERS.values(),
                         ids=BAD_IDENTIFIERS.keys())
def test_bad_identifier(replace, error):
    with pytest.raises(error):
        parse_soap(_request(**replace), CT, LIMITS)


BAD_BODIES = {
    "other-wrapper": f'<ns:getParcel xmlns:ns="{SERVICE_NS}"/>',
    "two-wrappers": f'<ns:getPerson xmlns:ns="{SERVICE_NS}"/>' * 2,
    "empty-body": "",
    "prefix-of-code": f'<ns:get xmlns:ns="{SERVICE_NS}"/>',
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_body_wrapper_must_match_service_code(body):
    with pytest.raises(InvalidSoap):
        parse_soap(_envelope(_fields().values(), body=body), CT, LIMITS)


@pytest.mark.parametrize(("raw", "match"), [
    pytest.param(b"<r/>", "Envelope", id="not-an-envelope"),
    pytest.param(f'<e:Envelope xmlns:e="{SOAP_ENV_NS}"><e:Body/></e:Envelope>'.encode(),
                 "Header", id="no-header"),
    pytest.param(f'<e:Envelope xmlns:e="{SOAP_ENV_NS}"><e:Header/></e:Envelope>'.encode(),
                 "Body", id="no-body"),
    pytest.param(b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/>'
                 b"</e:Envelope>", "Envelope", id="soap-1.2"),
])
def test_not_an_xroad_envelope(raw, match):
    with pytest.raises(InvalidSoap, match=match):
        parse_soap(raw, CT, LIMITS)


def test_fault_response_skips_wrapper_check():
    body = ('<SOAP-ENV:Fault><faultcode>Server.ServerProxy.AccessDenied</faultcode>'
            "<faultstring>no</faultstring></SOAP-ENV:Fault>")
    message = parse_soap(_envelope(_fields().values(), body=body), CT, LIMITS)
    assert message.is_fault
    assert message.header == EXPECTED


@pytest.mark.parametrize(("party", "expected"), [
    pytest.param("<repr:partyClass>COM</repr:partyClass><repr:partyCode>1234567</repr:partyCode>",
                 "COM/1234567", id="class-and-code"),
    pytest.param("<repr:partyCode>1234567</repr:partyCode>", "1234567", id="code-only"),
])
def test_represented_party(party, expected):
    raw = _request(representedParty=f"<repr:representedParty>{party}</repr:representedParty>")
    assert parse_soap(raw, CT, LIMITS).header.represented_party == expected


def test_client_header_in_representation_namespace_is_not_the_client():
    fields = _fields()
    fields["client"] = _id("client", "SUBSYSTEM", CLIENT, x="repr")
    with pytest.raises(InvalidSoap, match="client"):
        parse_soap(_envelope(fields.values()), CT, LIMITS)


def _request_hashes(raw):
    root = parse_untrusted(raw, LIMITS)
    return root.findall(f"{{{SOAP_ENV_NS}}}Header/{{{XROAD_NS}}}requestHash")


@pytest.mark.parametrize("existing", [
    pytest.param(None, id="inserted"),
    pytest.param("forged-by-the-service", id="replaced"),
])
def test_with_request_hash(existing):
    request_hash = soap_request_hash(_request())
    out = with_request_hash(_response(existing), request_hash, LIMITS)

    hashes = _request_hashes(out)
    assert len(hashes) == 1
    assert hashes[0].text == request_hash
    assert hashes[0].get("algorithmId") == SHA512_URI == "http://www.w3.org/2001/04/xmlenc#sha512"
    response = parse_soap(out, CT, LIMITS)
    assert response.request_hash == request_hash
    assert response.header == EXPECTED


def test_with_request_hash_removes_every_forged_hash():
    fields = [*_fields().values(), "<xrd:requestHash>a</xrd:requestHash>",
              "<xrd:requestHash>b</xrd:requestHash>"]
    raw = _envelope(fields, body=f'<ns:getPersonResponse xmlns:ns="{SERVICE_NS}"/>')
    hashes = _request_hashes(with_request_hash(raw, "ours", LIMITS))
    assert [h.text for h in hashes] == ["ours"]


def test_with_request_hash_needs_a_header():
    raw = f'<e:Envelope xmlns:e="{SOAP_ENV_NS}"><e:Body/></e:Envelope>'.encode()
    with pytest.raises(InvalidSoap):
        with_request_hash(raw, "h", LIMITS)


def test_soap_request_hash_is_base64_sha512_of_exact_bytes():
    raw = _request()
    assert soap_request_hash(raw) == base64.b64encode(hashlib.sha512(raw).digest()).decode()
    assert soap_request_hash(raw) != soap_request_hash(raw.replace(b"msg-1", b"msg-2"))
    assert soap_request_hash(raw) != soap_request_hash(raw + b" ")


def test_consistent_response_passes():
    request_raw = _request()
    request = parse_soap(request_raw, CT, LIMITS)
    expected = soap_request_hash(request_raw)
    response = parse_soap(with_request_hash(_response(), expected, LIMITS), CT, LIMITS)
    check_consistent(request.header, response, expected)  # does not raise
    assert response.request_hash == expected


INCONSISTENT = {
    "other-message-id": (lambda raw: raw.replace(b">msg-1<", b">msg-2<"), None),
    "other-client": (lambda raw: raw.replace(b">ALAMGAC<", b">OTHER<"), None),
    "other-user": (lambda raw: raw.replace(b">MN123<", b">MN999<"), None),
    "hash-of-other-request": (lambda raw: raw, b"<other/>"),
}


@pytest.mark.parametrize(("change", "hashed"), INCONSISTENT.values(), ids=INCONSISTENT.keys())
def test_inconsistent_response(change, hashed):
    request_raw = _request()
    request = parse_soap(request_raw, CT, LIMITS)
    expected = soap_request_hash(request_raw)
    response_hash = soap_request_hash(hashed) if hashed else expected
    response_raw = with_request_hash(change(_response()), response_hash, LIMITS)
    response = parse_soap(response_raw, CT, LIMITS)
    with pytest.raises(InconsistentResponse):
        check_consistent(request.header, response, expected)


def test_response_without_request_hash_is_inconsistent():
    request_raw = _request()
    response = parse_soap(_response(), CT, LIMITS)
    with pytest.raises(InconsistentResponse, match="requestHash"):
        check_consistent(parse_soap(request_raw, CT, LIMITS).header, response,
                         soap_request_hash(request_raw))


def test_with_request_hash_keeps_utf16_encoding():
    raw = _response().decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    out = with_request_hash(raw, "h", LIMITS)
    assert etree.QName(parse_untrusted(out, LIMITS)).localname == "Envelope"
    assert parse_soap(out, CT, LIMITS).request_hash == "h"
    assert b"<\x00" in out[:8] or b"\x00<" in out[:8]  # still UTF-16 on the wire
