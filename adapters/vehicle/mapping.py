"""Registry rows to X-Road payloads: REST JSON (the OpenAPI shapes) and SOAP elements.

The JSON models and the XML elements carry the same fields under the same names (snake_case
in JSON, camelCase in XML), and both leave out what data minimisation withholds from the
client: a withheld field is absent, never null or empty. The XML shapes are those of
`schemas/vehicle/vehicle-registry.wsdl`; a test validates them.
"""

import datetime
from collections.abc import Sequence
from typing import Any, Final

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field

from adapters.toolkit.payload import append_model
from adapters.vehicle.disclosure import VehicleField
from adapters.vehicle.registry import InspectionStatus, InsuranceStatus, Vehicle

NAMESPACE: Final = "http://vehicle.gov.mn/xroad"
PREFIX: Final = "veh"
_WITHHELD: Final = "omitted unless disclosed to the client (data minimisation)"


class Inspection(BaseModel):
    """The last technical inspection."""

    model_config = ConfigDict(frozen=True)

    status: InspectionStatus
    date: datetime.date


class Insurance(BaseModel):
    """Compulsory driver liability insurance."""

    model_config = ConfigDict(frozen=True)

    status: InsuranceStatus
    valid_until: datetime.date


class VehicleRecord(BaseModel):
    """A vehicle as the REST service `vehicles` returns it; withheld fields are absent."""

    model_config = ConfigDict(frozen=True)

    plate_number: str = Field(examples=["1234УБА"])
    vin: str | None = Field(default=None, description=_WITHHELD)
    make: str | None = Field(default=None, description=_WITHHELD, examples=["Toyota"])
    model: str | None = Field(default=None, description=_WITHHELD, examples=["Prius"])
    year: int | None = Field(default=None, description=f"model year; {_WITHHELD}")
    owner_register_number: str | None = Field(default=None, description=_WITHHELD)
    registration_date: datetime.date | None = Field(default=None, description=_WITHHELD)
    inspection: Inspection | None = Field(default=None, description=_WITHHELD)
    insurance: Insurance | None = Field(default=None, description=_WITHHELD)


class OwnerVehicles(BaseModel):
    """The answer of `vehicles?owner={registerNumber}`: possibly no vehicles at all."""

    model_config = ConfigDict(frozen=True)

    owner_register_number: str
    vehicles: list[VehicleRecord]


def _values(vehicle: Vehicle) -> dict[VehicleField, Any]:
    """Every field's value, in the order of the XSD sequence."""
    return {
        VehicleField.PLATE_NUMBER: vehicle.plate_number,
        VehicleField.VIN: vehicle.vin,
        VehicleField.MAKE: vehicle.make,
        VehicleField.MODEL: vehicle.model,
        VehicleField.YEAR: vehicle.year,
        VehicleField.OWNER_REGISTER_NUMBER: vehicle.owner_register_number,
        VehicleField.REGISTRATION_DATE: vehicle.registration_date,
        VehicleField.INSPECTION: Inspection(
            status=vehicle.inspection_status, date=vehicle.inspection_date
        ),
        VehicleField.INSURANCE: Insurance(
            status=vehicle.insurance_status, valid_until=vehicle.insurance_valid_until
        ),
    }


def vehicle_record(vehicle: Vehicle, fields: frozenset[VehicleField]) -> VehicleRecord:
    """The REST shape of `vehicle`, with only `fields` set."""
    values = _values(vehicle)
    return VehicleRecord(**{name.value: value for name, value in values.items() if name in fields})


def owner_vehicles(
    register_number: str, vehicles: Sequence[Vehicle], fields: frozenset[VehicleField]
) -> OwnerVehicles:
    """The REST shape of an owner's vehicles."""
    return OwnerVehicles(
        owner_register_number=register_number,
        vehicles=[vehicle_record(vehicle, fields) for vehicle in vehicles],
    )


def append_vehicle(
    parent: etree._Element, vehicle: Vehicle, fields: frozenset[VehicleField]
) -> None:
    """Add `<vehicle>` with only `fields` to a response wrapper."""
    append_model(parent, NAMESPACE, "vehicle", vehicle_record(vehicle, fields))


def append_owner_vehicles(
    wrapper: etree._Element,
    register_number: str,
    vehicles: Sequence[Vehicle],
    fields: frozenset[VehicleField],
) -> None:
    """Add `<vehicles>` to a `getVehiclesByOwnerResponse`."""
    append_model(wrapper, NAMESPACE, "vehicles", owner_vehicles(register_number, vehicles, fields))
