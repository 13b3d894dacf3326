"""Requests, fixtures' apps and answer readers shared by the land registry adapter tests."""

from pathlib import Path

import xmlschema
from lxml import etree

import schemas
from adapters.land import DisclosureRule, LandRegistrySettings
from xroad.limits import Limits
from xroad.messages.xml import IDENTIFIERS_NS, SOAP_ENV_NS, XROAD_NS, parse_untrusted

LAND_NS = "http://land.gov.mn/xroad"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
DEMO = "УБ99112233"
DEMO_WIFE = "УБ01250846"
NOBODY = "УБ00010100"  # 1900-01-01: valid, but nobody in the seed data was born before 1940
NO_PARCEL = "9999999999"  # well formed, but no aimag has code 99
PORTAL = "MN/GOV/EMONGOLIA/portal"
TAX = "MN/GOV/MTA/tax-registry"
LIMITS = Limits()


def land_settings(path: Path, *rules: DisclosureRule) -> LandRegistrySettings:
    return LandRegistrySettings(database_url=f"sqlite:///{path}", disclosure_rules=rules)


def envelope(
    service_code: str = "getParcelsByOwner",
    value: str | None = DEMO,
    *,
    client: str = PORTAL,
    issue: str = "портал: иргэний газрын лавлагаа",
    env: str = "soapenv",
    xrd: str = "xrd",
    iden: str = "id",
    body_ns: str = LAND_NS,
) -> bytes:
    """An X-Road SOAP 4.0 request as a client's security server forwards it."""
    name = "parcelId" if service_code == "getParcel" else "registerNumber"
    element = "" if value is None else f"<l:{name}>{value}</l:{name}>"
    instance, member_class, member_code, subsystem = client.split("/")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<{env}:Envelope xmlns:{env}="{SOAP_ENV_NS}"
    xmlns:{xrd}="{XROAD_NS}" xmlns:{iden}="{IDENTIFIERS_NS}">
  <{env}:Header>
    <{xrd}:client {iden}:objectType="SUBSYSTEM">
      <{iden}:xRoadInstance>{instance}</{iden}:xRoadInstance>
      <{iden}:memberClass>{member_class}</{iden}:memberClass>
      <{iden}:memberCode>{member_code}</{iden}:memberCode>
      <{iden}:subsystemCode>{subsystem}</{iden}:subsystemCode>
    </{xrd}:client>
    <{xrd}:service {iden}:objectType="SERVICE">
      <{iden}:xRoadInstance>MN</{iden}:xRoadInstance>
      <{iden}:memberClass>GOV</{iden}:memberClass>
      <{iden}:memberCode>ALAMGAC</{iden}:memberCode>
      <{iden}:subsystemCode>land-registry</{iden}:subsystemCode>
      <{iden}:serviceCode>{service_code}</{iden}:serviceCode>
      <{iden}:serviceVersion>v1</{iden}:serviceVersion>
    </{xrd}:service>
    <{xrd}:id>0c7d6a52-91e4-4f0e-8d1a-5b2f3c4e6a70</{xrd}:id>
    <{xrd}:userId>MN99112233</{xrd}:userId>
    <{xrd}:issue>{issue}</{xrd}:issue>
    <{xrd}:protocolVersion>4.0</{xrd}:protocolVersion>
  </{env}:Header>
  <{env}:Body>
    <l:{service_code} xmlns:l="{body_ns}">{element}</l:{service_code}>
  </{env}:Body>
</{env}:Envelope>""".encode()


def response_schema() -> xmlschema.XMLSchema:
    """The WSDL's types schema, without the X-Road header import the body does not use."""
    wsdl = parse_untrusted(schemas.path("land", "land-registry.wsdl").read_bytes(), LIMITS)
    schema = wsdl.find(f"{{{WSDL_NS}}}types/{{{XSD_NS}}}schema")
    assert schema is not None
    for imported in schema.findall(f"{{{XSD_NS}}}import"):
        schema.remove(imported)
    return xmlschema.XMLSchema(etree.tostring(schema, encoding="unicode"))


def land(tag: str) -> str:
    """`parcel/owner` -> the qualified path `{ns}parcel/{ns}owner`."""
    return "/".join(f"{{{LAND_NS}}}{part}" for part in tag.split("/"))
