"""Requests, settings and answer readers shared by the tax registry adapter tests."""

from pathlib import Path

import xmlschema
from lxml import etree

import schemas
from adapters.tax import TaxRegistrySettings
from adapters.tax.disclosure import TaxField
from xroad.identifiers import ClientId
from xroad.limits import Limits
from xroad.messages.xml import IDENTIFIERS_NS, SOAP_ENV_NS, XROAD_NS, parse_untrusted

TAX_NS = "http://tax.gov.mn/xroad"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
DEMO = "УБ99112233"
DEMO_TIN = "220299112233"
NOBODY = "УБ00010100"  # 1900-01-01: valid, but the civil seed has nobody born before 1940
NOBODY_TIN = "220200010100"
PORTAL = ClientId("MN", "GOV", "EMONGOLIA", "portal")
LAND = ClientId("MN", "GOV", "ALAMGAC", "land-registry")
LIMITS = Limits()

# What the tests configure: the land registry sees whether property tax is paid, the whole
# RTDC member (any of its subsystems) whether vehicle tax is paid.
FIELDS_BY_CLIENT: dict[str, frozenset[TaxField]] = {
    str(LAND): frozenset({TaxField.PROPERTY_TAX_PAID}),
    "MN/GOV/RTDC": frozenset({TaxField.VEHICLE_TAX_PAID, TaxField.TAX_YEAR}),
}


def tax_settings(path: Path, **overrides: object) -> TaxRegistrySettings:
    values: dict[str, object] = {
        "database_url": f"sqlite:///{path}",
        "fields_by_client": FIELDS_BY_CLIENT,
    }
    return TaxRegistrySettings.model_validate(values | overrides)


def envelope(
    service_code: str = "getTaxStatus",
    argument: tuple[str, str] | None = ("registerNumber", DEMO),
    *,
    client: ClientId = PORTAL,
    body_ns: str = TAX_NS,
) -> bytes:
    """An X-Road SOAP 4.0 request as a client's security server forwards it."""
    content = "" if argument is None else f"<t:{argument[0]}>{argument[1]}</t:{argument[0]}>"
    object_type = "SUBSYSTEM" if client.subsystem_code else "MEMBER"
    subsystem = (
        f"<id:subsystemCode>{client.subsystem_code}</id:subsystemCode>"
        if client.subsystem_code
        else ""
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="{SOAP_ENV_NS}" xmlns:xrd="{XROAD_NS}" xmlns:id="{IDENTIFIERS_NS}">
  <soapenv:Header>
    <xrd:client id:objectType="{object_type}">
      <id:xRoadInstance>{client.instance}</id:xRoadInstance>
      <id:memberClass>{client.member_class}</id:memberClass>
      <id:memberCode>{client.member_code}</id:memberCode>
      {subsystem}
    </xrd:client>
    <xrd:service id:objectType="SERVICE">
      <id:xRoadInstance>MN</id:xRoadInstance>
      <id:memberClass>GOV</id:memberClass>
      <id:memberCode>MTA</id:memberCode>
      <id:subsystemCode>tax-registry</id:subsystemCode>
      <id:serviceCode>{service_code}</id:serviceCode>
      <id:serviceVersion>v1</id:serviceVersion>
    </xrd:service>
    <xrd:id>0c5e7a52-93d1-4a8e-b1f0-7d2f3c9e4a10</xrd:id>
    <xrd:userId>MN99112233</xrd:userId>
    <xrd:issue>портал: татварын лавлагаа</xrd:issue>
    <xrd:protocolVersion>4.0</xrd:protocolVersion>
  </soapenv:Header>
  <soapenv:Body>
    <t:{service_code} xmlns:t="{body_ns}">{content}</t:{service_code}>
  </soapenv:Body>
</soapenv:Envelope>""".encode()


def record_of(wrapper: etree._Element, name: str) -> dict[str, str | None]:
    """The children of `<{name}>` in a response wrapper, as localname -> text, in order."""
    element = wrapper.find(f"{{{TAX_NS}}}{name}")
    assert element is not None, etree.tostring(wrapper)
    return {etree.QName(child).localname: child.text for child in element}


def response_schema() -> xmlschema.XMLSchema:
    """The WSDL's types schema, without the X-Road header import the body does not use."""
    wsdl = parse_untrusted(schemas.path("tax", "tax-registry.wsdl").read_bytes(), LIMITS)
    schema = wsdl.find(f"{{{WSDL_NS}}}types/{{{XSD_NS}}}schema")
    assert schema is not None
    for imported in schema.findall(f"{{{XSD_NS}}}import"):
        schema.remove(imported)
    return xmlschema.XMLSchema(etree.tostring(schema, encoding="unicode"))
