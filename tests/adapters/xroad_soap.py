"""X-Road SOAP requests and answer readers shared by every registry adapter's tests."""

from fastapi.testclient import TestClient
from lxml import etree
from xmlschema import XMLSchema

import schemas
from xroad.limits import Limits
from xroad.messages.xml import IDENTIFIERS_NS, SOAP_ENV_NS, XROAD_NS, parse_untrusted

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
DEMO = "УБ99112233"
NOBODY = "УБ00010100"  # 1900-01-01: valid, but the seed data has nobody born before 1940
PORTAL = "MN/GOV/EMONGOLIA/portal"
TAX = "MN/GOV/MTA/tax-registry"
LIMITS = Limits()


def _client_xml(client: str, xrd: str, iden: str) -> str:
    instance, member_class, member_code, *subsystem = client.split("/")
    object_type = "SUBSYSTEM" if subsystem else "MEMBER"
    code = "".join(f"<{iden}:subsystemCode>{s}</{iden}:subsystemCode>" for s in subsystem)
    return f"""<{xrd}:client {iden}:objectType="{object_type}">
      <{iden}:xRoadInstance>{instance}</{iden}:xRoadInstance>
      <{iden}:memberClass>{member_class}</{iden}:memberClass>
      <{iden}:memberCode>{member_code}</{iden}:memberCode>
      {code}
    </{xrd}:client>"""


def envelope(
    provider: str,
    service_code: str,
    content: str,
    *,
    body_ns: str,
    client: str | None = PORTAL,
    issue: str = "портал: иргэний лавлагаа",
    env: str = "soapenv",
    xrd: str = "xrd",
    iden: str = "id",
) -> bytes:
    """An X-Road SOAP 4.0 request for `provider`'s service, as its security server forwards it.

    `content` is the wrapper's content, with the prefix `b` bound to `body_ns`.
    """
    instance, member_class, member_code, subsystem = provider.split("/")
    client_header = "" if client is None else _client_xml(client, xrd, iden)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<{env}:Envelope xmlns:{env}="{SOAP_ENV_NS}"
    xmlns:{xrd}="{XROAD_NS}" xmlns:{iden}="{IDENTIFIERS_NS}">
  <{env}:Header>
    {client_header}
    <{xrd}:service {iden}:objectType="SERVICE">
      <{iden}:xRoadInstance>{instance}</{iden}:xRoadInstance>
      <{iden}:memberClass>{member_class}</{iden}:memberClass>
      <{iden}:memberCode>{member_code}</{iden}:memberCode>
      <{iden}:subsystemCode>{subsystem}</{iden}:subsystemCode>
      <{iden}:serviceCode>{service_code}</{iden}:serviceCode>
      <{iden}:serviceVersion>v1</{iden}:serviceVersion>
    </{xrd}:service>
    <{xrd}:id>6a0b9c1e-3f7d-4e55-9b1e-2d4c8f0a7e21</{xrd}:id>
    <{xrd}:userId>MN99112233</{xrd}:userId>
    <{xrd}:issue>{issue}</{xrd}:issue>
    <{xrd}:protocolVersion>4.0</{xrd}:protocolVersion>
  </{env}:Header>
  <{env}:Body>
    <b:{service_code} xmlns:b="{body_ns}">{content}</b:{service_code}>
  </{env}:Body>
</{env}:Envelope>""".encode()


def argument(name: str, value: str | None) -> str:
    """`<b:name>value</b:name>`, or nothing for None (a request missing its argument)."""
    return "" if value is None else f"<b:{name}>{value}</b:{name}>"


def post_soap(client: TestClient, data: bytes) -> tuple[int, etree._Element]:
    response = client.post("/soap", content=data, headers={"Content-Type": "text/xml"})
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    return response.status_code, parse_untrusted(response.content, LIMITS)


def body_of(envelope_root: etree._Element) -> etree._Element:
    body = envelope_root.find(f"{{{SOAP_ENV_NS}}}Body")
    assert body is not None
    assert len(body) == 1
    return body[0]


def fault_code(envelope_root: etree._Element) -> str | None:
    return envelope_root.findtext(f"{{{SOAP_ENV_NS}}}Body/{{{SOAP_ENV_NS}}}Fault/faultcode")


def exc14n(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True, with_tail=False)


def child_names(element: etree._Element) -> list[str]:
    return [etree.QName(child).localname for child in element if isinstance(child.tag, str)]


def response_schema(*wsdl: str) -> XMLSchema:
    """The WSDL's types schema, without the X-Road header import the body does not use."""
    document = parse_untrusted(schemas.path(*wsdl).read_bytes(), LIMITS)
    schema = document.find(f"{{{WSDL_NS}}}types/{{{XSD_NS}}}schema")
    assert schema is not None
    for imported in schema.findall(f"{{{XSD_NS}}}import"):
        schema.remove(imported)
    return XMLSchema(etree.tostring(schema, encoding="unicode"))
