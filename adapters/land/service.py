"""The land registry's services: service code -> handler, for SOAP and REST alike.

Both protocols call the same lookups, so a malformed number or an unknown parcel means the
same thing over SOAP and REST; only the wire form differs (see `app`). An owner without
parcels is an answer (an empty list), not an error: the land registry cannot tell a person
without land from an unknown person, and the civil registry is the one to ask about persons.
"""

import re
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Final

from lxml import etree
from sqlalchemy.orm import Session

from adapters.land import mapping, registry
from adapters.land.disclosure import DisclosurePolicy, ParcelField
from adapters.land.registry import Parcel
from adapters.toolkit.clients import client_from_soap
from adapters.toolkit.errors import InvalidRequest, NotFound
from adapters.toolkit.register_number import birth_date_of
from adapters.toolkit.soap import (
    SoapRequest,
    append_business_fault,
    handler_for,
    required_argument,
    response_wrapper,
)

# Four digits for the aimag and soum (or district), six for the parcel within it.
_PARCEL_ID: Final = re.compile(r"[0-9]{10}")


class InvalidParcelId(InvalidRequest):
    """The text is not a parcel id (ten digits)."""

    code = "InvalidParcelId"


class ParcelNotFound(NotFound):
    """The parcel id is well formed but no parcel has it."""

    code = "ParcelNotFound"


def get_parcel(session: Session, parcel_id: str) -> Parcel:
    """The parcel with `parcel_id`; raises `InvalidParcelId` or `ParcelNotFound`."""
    if _PARCEL_ID.fullmatch(parcel_id) is None:
        raise InvalidParcelId(f"{parcel_id[:20]!r} is not a parcel id of ten digits")
    parcel = registry.find_parcel(session, parcel_id)
    if parcel is None:
        raise ParcelNotFound(f"no parcel is registered with id {parcel_id}")
    return parcel


def parcels_of(session: Session, register_number: str) -> Sequence[Parcel]:
    """The parcels `register_number` owns or co-owns; raises `InvalidRegisterNumber`."""
    birth_date_of(register_number)  # validates, so a typo is told apart from no parcels
    return registry.parcels_of(session, register_number)


def disclosed_fields(policy: DisclosurePolicy, request: SoapRequest) -> frozenset[ParcelField]:
    """The fields this SOAP request's client receives for the purpose it states."""
    return policy.fields_for(client_from_soap(request), request.header_text("issue"))


def _get_parcels_by_owner(
    session: Session, request: SoapRequest, fields: frozenset[ParcelField]
) -> etree._Element:
    wrapper = response_wrapper(request, mapping.NAMESPACE, mapping.PREFIX)
    register_number = required_argument(request, "registerNumber")
    parcels = parcels_of(session, register_number)
    mapping.append_owner_parcels(wrapper, register_number, parcels, fields)
    return wrapper


def _get_parcel(
    session: Session, request: SoapRequest, fields: frozenset[ParcelField]
) -> etree._Element:
    wrapper = response_wrapper(request, mapping.NAMESPACE, mapping.PREFIX)
    try:
        parcel = get_parcel(session, required_argument(request, "parcelId"))
        mapping.append_parcel(wrapper, parcel, fields)
    except NotFound as e:
        append_business_fault(wrapper, e)
    return wrapper


SoapHandler = Callable[[Session, SoapRequest, frozenset[ParcelField]], etree._Element]

SOAP_SERVICES: Final[Mapping[str, SoapHandler]] = MappingProxyType(
    {"getParcelsByOwner": _get_parcels_by_owner, "getParcel": _get_parcel}
)


def answer_soap(
    session: Session, request: SoapRequest, policy: DisclosurePolicy
) -> etree._Element:
    """The response wrapper for `request`; `InvalidSoap` if this registry has no such service.

    Business errors (an unknown parcel) are in the wrapper; malformed input raises.
    """
    handler = handler_for(SOAP_SERVICES, mapping.NAMESPACE, request)
    return handler(session, request, disclosed_fields(policy, request))
