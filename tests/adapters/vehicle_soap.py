"""Requests and settings shared by the vehicle registry adapter tests."""

from pathlib import Path

import xroad_soap
from xmlschema import XMLSchema
from xroad_soap import DEMO, PORTAL

from adapters.vehicle import VehicleRegistrySettings

VEHICLE_NS = "http://vehicle.gov.mn/xroad"
VEHICLE = "MN/GOV/RTDC/vehicle-registry"
DEMO_PLATE = "1234УБА"
NO_PLATE = "0000УБЯ"  # well formed, never issued by the seed data
TAX_FIELDS = ["make", "model", "year", "owner_register_number", "registration_date"]


def vehicle_settings(path: Path, **overrides: object) -> VehicleRegistrySettings:
    values: dict[str, object] = {"database_url": f"sqlite:///{path}"}
    return VehicleRegistrySettings.model_validate(values | overrides)


def envelope(
    service_code: str = "getVehiclesByOwner",
    value: str | None = DEMO,
    *,
    client: str | None = PORTAL,
    body_ns: str = VEHICLE_NS,
    **options: str,
) -> bytes:
    """An X-Road SOAP 4.0 request as the provider's security server forwards it."""
    name = "plateNumber" if service_code == "getVehicleByPlate" else "registerNumber"
    return xroad_soap.envelope(
        VEHICLE, service_code, xroad_soap.argument(name, value), body_ns=body_ns, client=client,
        issue="портал: тээврийн хэрэгслийн лавлагаа", **options,
    )


def response_schema() -> XMLSchema:
    return xroad_soap.response_schema("vehicle", "vehicle-registry.wsdl")
