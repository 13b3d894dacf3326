"""Requests, settings and answer readers shared by the tax registry adapter tests."""

from pathlib import Path

import xroad_soap
from lxml import etree
from xmlschema import XMLSchema
from xroad_soap import DEMO

from adapters.tax import TaxRegistrySettings
from adapters.tax.disclosure import TaxField
from xroad.identifiers import ClientId

TAX_NS = "http://tax.gov.mn/xroad"
TAX_REGISTRY = "MN/GOV/MTA/tax-registry"
DEMO_TIN = "220299112233"
NOBODY_TIN = "220200010100"
PORTAL = ClientId("MN", "GOV", "EMONGOLIA", "portal")
LAND = ClientId("MN", "GOV", "ALAMGAC", "land-registry")

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
    content = "" if argument is None else xroad_soap.argument(*argument)
    return xroad_soap.envelope(
        TAX_REGISTRY, service_code, content, body_ns=body_ns, client=str(client),
        issue="портал: татварын лавлагаа",
    )


def record_of(wrapper: etree._Element, name: str) -> dict[str, str | None]:
    """The children of `<{name}>` in a response wrapper, as localname -> text, in order."""
    element = wrapper.find(f"{{{TAX_NS}}}{name}")
    assert element is not None, etree.tostring(wrapper)
    return {etree.QName(child).localname: child.text for child in element}


def response_schema() -> XMLSchema:
    return xroad_soap.response_schema("tax", "tax-registry.wsdl")
