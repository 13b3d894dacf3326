"""Requests and answer readers shared by the vehicle registry adapter tests."""

from pathlib import Path

import xmlschema
from civil_soap import LIMITS, WSDL_NS, XSD_NS
from fastapi.testclient import TestClient
from lxml import etree

import schemas
from adapters.vehicle import VehicleRegistrySettings
from xroad.messages.xml import IDENTIFIERS_NS, SOAP_ENV_NS, XROAD_NS, parse_untrusted

VEHICLE_NS = "http://vehicle.gov.mn/xroad"
DEMO = "УБ99112233"
DEMO_PLATE = "1234УБА"
NOBODY = "УБ00010100"  # 1900-01-01: valid, but nobody that old owns a vehicle
NO_PLATE = "0000УБЯ"  # well formed, never issued by the seed data
PORTAL = "MN/GOV/EMONGOLIA/portal"
TAX = "MN/GOV/MTA/tax-registry"
TAX_FIELDS = ["make", "model", "year", "owner_register_number", "registration_date"]


def vehicle_settings(path: Path, **overrides: object) -> VehicleRegistrySettings:
    return VehicleRegistrySettings(database_url=f"sqlite:///{path}", **overrides)  # type: ignore[arg-type]


def _client_xml(client: str, xrd: str, iden: str) -> str:
    instance, member_class, member_code, subsystem = client.split("/")
    return f"""<{xrd}:client {iden}:objectType="SUBSYSTEM">
      <{iden}:xRoadInstance>{instance}</{iden}:xRoadInstance>
      <{iden}:memberClass>{member_class}</{iden}:memberClass>
      <{iden}:memberCode>{member_code}</{iden}:memberCode>
      <{iden}:subsystemCode>{subsystem}</{iden}:subsystemCode>
    </{xrd}:client>"""


def envelope(
    service_code: str = "getVehiclesByOwner",
    value: str | None = DEMO,
    *,
    client: str | None = PORTAL,
    env: str = "soapenv",
    xrd: str = "xrd",
    iden: str = "id",
    body_ns: str = VEHICLE_NS,
) -> bytes:
    """An X-Road SOAP 4.0 request as the provider's security server forwards it."""
    name = "plateNumber" if service_code == "getVehicleByPlate" else "registerNumber"
    argument = "" if value is None else f"<v:{name}>{value}</v:{name}>"
    client_header = "" if client is None else _client_xml(client, xrd, iden)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<{env}:Envelope xmlns:{env}="{SOAP_ENV_NS}"
    xmlns:{xrd}="{XROAD_NS}" xmlns:{iden}="{IDENTIFIERS_NS}">
  <{env}:Header>
    {client_header}
    <{xrd}:service {iden}:objectType="SERVICE">
      <{iden}:xRoadInstance>MN</{iden}:xRoadInstance>
      <{iden}:memberClass>GOV</{iden}:memberClass>
      <{iden}:memberCode>RTDC</{iden}:memberCode>
      <{iden}:subsystemCode>vehicle-registry</{iden}:subsystemCode>
      <{iden}:serviceCode>{service_code}</{iden}:serviceCode>
      <{iden}:serviceVersion>v1</{iden}:serviceVersion>
    </{xrd}:service>
    <{xrd}:id>0c7d3e5a-91b2-4f0e-8a44-6b1f2d9e7c10</{xrd}:id>
    <{xrd}:userId>MN99112233</{xrd}:userId>
    <{xrd}:issue>портал: тээврийн хэрэгслийн лавлагаа</{xrd}:issue>
    <{xrd}:protocolVersion>4.0</{xrd}:protocolVersion>
  </{env}:Header>
  <{env}:Body>
    <v:{service_code} xmlns:v="{body_ns}">{argument}</v:{service_code}>
  </{env}:Body>
</{env}:Envelope>""".encode()


def post_soap(client: TestClient, data: bytes) -> tuple[int, etree._Element]:
    response = client.post("/soap", content=data, headers={"Content-Type": "text/xml"})
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    return response.status_code, parse_untrusted(response.content, LIMITS)


def response_schema() -> xmlschema.XMLSchema:
    """The WSDL's types schema, without the X-Road header import the body does not use."""
    wsdl = parse_untrusted(schemas.path("vehicle", "vehicle-registry.wsdl").read_bytes(), LIMITS)
    schema = wsdl.find(f"{{{WSDL_NS}}}types/{{{XSD_NS}}}schema")
    assert schema is not None
    for imported in schema.findall(f"{{{XSD_NS}}}import"):
        schema.remove(imported)
    return xmlschema.XMLSchema(etree.tostring(schema, encoding="unicode"))


def child_names(element: etree._Element) -> list[str]:
    return [etree.QName(child).localname for child in element if isinstance(child.tag, str)]
