"""Requests and settings shared by the land registry adapter tests."""

from pathlib import Path

import xroad_soap
from xmlschema import XMLSchema
from xroad_soap import DEMO, PORTAL

from adapters.land import DisclosureRule, LandRegistrySettings

LAND_NS = "http://land.gov.mn/xroad"
LAND = "MN/GOV/ALAMGAC/land-registry"
DEMO_WIFE = "УБ01250846"
NO_PARCEL = "9999999999"  # well formed, but no aimag has code 99


def land_settings(path: Path, *rules: DisclosureRule, **overrides: object) -> LandRegistrySettings:
    values: dict[str, object] = {"database_url": f"sqlite:///{path}", "disclosure_rules": rules}
    return LandRegistrySettings.model_validate(values | overrides)


def envelope(
    service_code: str = "getParcelsByOwner",
    value: str | None = DEMO,
    *,
    client: str = PORTAL,
    issue: str = "портал: иргэний газрын лавлагаа",
    body_ns: str = LAND_NS,
    **options: str,
) -> bytes:
    """An X-Road SOAP 4.0 request as a client's security server forwards it."""
    name = "parcelId" if service_code == "getParcel" else "registerNumber"
    return xroad_soap.envelope(
        LAND, service_code, xroad_soap.argument(name, value), body_ns=body_ns, client=client,
        issue=issue, **options,
    )


def response_schema() -> XMLSchema:
    return xroad_soap.response_schema("land", "land-registry.wsdl")


def land(tag: str) -> str:
    """`parcel/owner` -> the qualified path `{ns}parcel/{ns}owner`."""
    return "/".join(f"{{{LAND_NS}}}{part}" for part in tag.split("/"))

