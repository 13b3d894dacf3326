"""The vehicle registry's services: service code -> handler, for SOAP and REST alike.

Both protocols call the same lookups, so a malformed plate or register number, or an unknown
plate, means the same thing over SOAP and REST; only the wire form differs (see `app`). An
owner without vehicles is an empty list, not an error: the vehicle registry cannot tell a
person without vehicles from an unknown one, and must not pretend to.
"""

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Final

from lxml import etree
from sqlalchemy.orm import Session

from adapters.toolkit.clients import client_from_soap
from adapters.toolkit.errors import NotFound
from adapters.toolkit.register_number import birth_date_of
from adapters.toolkit.soap import (
    SoapRequest,
    append_business_fault,
    handler_for,
    required_argument,
    response_wrapper,
)
from adapters.vehicle import mapping, registry
from adapters.vehicle.disclosure import FieldPolicy
from adapters.vehicle.plate import check_plate_number
from adapters.vehicle.registry import Vehicle


class VehicleNotFound(NotFound):
    """The plate number is well formed but no vehicle carries it."""

    code = "VehicleNotFound"


def get_vehicle_by_plate(session: Session, plate_number: str) -> Vehicle:
    """The vehicle with `plate_number`; raises `InvalidPlateNumber` or `VehicleNotFound`."""
    vehicle = registry.find_by_plate(session, check_plate_number(plate_number))
    if vehicle is None:
        raise VehicleNotFound(f"no vehicle is registered with plate number {plate_number}")
    return vehicle


def get_vehicles_by_owner(session: Session, register_number: str) -> Sequence[Vehicle]:
    """The vehicles registered to `register_number` (maybe none); validates the number."""
    birth_date_of(register_number)  # raises InvalidRegisterNumber on a malformed number
    return registry.find_by_owner(session, register_number)


def _get_vehicles_by_owner(
    session: Session, request: SoapRequest, policy: FieldPolicy
) -> etree._Element:
    wrapper = response_wrapper(request, mapping.NAMESPACE, mapping.PREFIX)
    fields = policy.fields_for(client_from_soap(request))
    register_number = required_argument(request, "registerNumber")
    vehicles = get_vehicles_by_owner(session, register_number)
    mapping.append_owner_vehicles(wrapper, register_number, vehicles, fields)
    return wrapper


def _get_vehicle_by_plate(
    session: Session, request: SoapRequest, policy: FieldPolicy
) -> etree._Element:
    wrapper = response_wrapper(request, mapping.NAMESPACE, mapping.PREFIX)
    fields = policy.fields_for(client_from_soap(request))
    try:
        vehicle = get_vehicle_by_plate(session, required_argument(request, "plateNumber"))
    except NotFound as e:
        append_business_fault(wrapper, e)
    else:
        mapping.append_vehicle(wrapper, vehicle, fields)
    return wrapper


SoapHandler = Callable[[Session, SoapRequest, FieldPolicy], etree._Element]

SOAP_SERVICES: Final[Mapping[str, SoapHandler]] = MappingProxyType(
    {
        "getVehiclesByOwner": _get_vehicles_by_owner,
        "getVehicleByPlate": _get_vehicle_by_plate,
    }
)


def answer_soap(session: Session, request: SoapRequest, policy: FieldPolicy) -> etree._Element:
    """The response wrapper for `request`; `InvalidSoap` if this registry has no such service.

    Business errors (an unknown plate) are in the wrapper; malformed input raises.
    """
    return handler_for(SOAP_SERVICES, mapping.NAMESPACE, request)(session, request, policy)
