"""Requests and answer readers shared by the civil registry adapter tests."""

from pathlib import Path

from fastapi.testclient import TestClient
from lxml import etree

from adapters.civil import CivilRegistrySettings
from xroad.limits import Limits
from xroad.messages.xml import IDENTIFIERS_NS, SOAP_ENV_NS, XROAD_NS, parse_untrusted

CIVIL_NS = "http://civil.gov.mn/xroad"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
DEMO = "УБ99112233"
NOBODY = "УБ00010100"  # 1900-01-01: valid, but the seed data has nobody born before 1940
LIMITS = Limits()


def civil_settings(path: Path) -> CivilRegistrySettings:
    return CivilRegistrySettings(database_url=f"sqlite:///{path}")


def envelope(
    service_code: str = "getPerson",
    register_number: str | None = DEMO,
    *,
    env: str = "soapenv",
    xrd: str = "xrd",
    iden: str = "id",
    body_ns: str = CIVIL_NS,
) -> bytes:
    """An X-Road SOAP 4.0 request as a client's security server forwards it."""
    number = (
        "" if register_number is None else f"<c:registerNumber>{register_number}</c:registerNumber>"
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<{env}:Envelope xmlns:{env}="{SOAP_ENV_NS}"
    xmlns:{xrd}="{XROAD_NS}" xmlns:{iden}="{IDENTIFIERS_NS}">
  <{env}:Header>
    <{xrd}:client {iden}:objectType="SUBSYSTEM">
      <{iden}:xRoadInstance>MN</{iden}:xRoadInstance>
      <{iden}:memberClass>GOV</{iden}:memberClass>
      <{iden}:memberCode>EMONGOLIA</{iden}:memberCode>
      <{iden}:subsystemCode>portal</{iden}:subsystemCode>
    </{xrd}:client>
    <{xrd}:service {iden}:objectType="SERVICE">
      <{iden}:xRoadInstance>MN</{iden}:xRoadInstance>
      <{iden}:memberClass>GOV</{iden}:memberClass>
      <{iden}:memberCode>GASR</{iden}:memberCode>
      <{iden}:subsystemCode>civil-registry</{iden}:subsystemCode>
      <{iden}:serviceCode>{service_code}</{iden}:serviceCode>
      <{iden}:serviceVersion>v1</{iden}:serviceVersion>
    </{xrd}:service>
    <{xrd}:id>6a0b9c1e-3f7d-4e55-9b1e-2d4c8f0a7e21</{xrd}:id>
    <{xrd}:userId>MN99112233</{xrd}:userId>
    <{xrd}:issue>портал: иргэний лавлагаа</{xrd}:issue>
    <{xrd}:protocolVersion>4.0</{xrd}:protocolVersion>
  </{env}:Header>
  <{env}:Body>
    <c:{service_code} xmlns:c="{body_ns}">{number}</c:{service_code}>
  </{env}:Body>
</{env}:Envelope>""".encode()


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

