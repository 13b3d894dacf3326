"""The tax registry's services: service code -> handler, for SOAP and REST alike.

Both protocols call the same lookups and the same disclosure policy, so a malformed
identifier, an unknown taxpayer or a withheld field means the same over SOAP and REST; only
the wire form differs (see `app`).
"""

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

from lxml import etree
from sqlalchemy.orm import Session

from adapters.tax import mapping, registry
from adapters.tax.disclosure import FieldsByClient, TaxField, disclosed_fields
from adapters.tax.registry import Taxpayer
from adapters.tax.tin import register_number_of
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


class TaxpayerNotFound(NotFound):
    """The identifier is well formed but no taxpayer holds it."""

    code = "TaxpayerNotFound"


def get_tax_status(session: Session, register_number: str) -> Taxpayer:
    """The taxpayer who is the person `register_number`; raises `InvalidRegisterNumber`."""
    birth_date_of(register_number)  # validates, so a typo is told apart from an unknown person
    taxpayer = registry.find_by_register_number(session, register_number)
    if taxpayer is None:
        raise TaxpayerNotFound(f"no taxpayer is registered with register number {register_number}")
    return taxpayer


def get_taxpayer(session: Session, tin: str) -> Taxpayer:
    """The taxpayer with `tin`; raises `InvalidTin` or `TaxpayerNotFound`."""
    register_number_of(tin)  # validates
    taxpayer = registry.find_by_tin(session, tin)
    if taxpayer is None:
        raise TaxpayerNotFound(f"no taxpayer is registered with TIN {tin}")
    return taxpayer


def _get_tax_status(
    session: Session, request: SoapRequest, fields: frozenset[TaxField]
) -> etree._Element:
    wrapper = response_wrapper(request, mapping.NAMESPACE, mapping.PREFIX)
    try:
        taxpayer = get_tax_status(session, required_argument(request, "registerNumber"))
    except NotFound as e:
        append_business_fault(wrapper, e)
    else:
        mapping.append_record(wrapper, "taxStatus", mapping.tax_status(taxpayer, fields))
    return wrapper


def _get_taxpayer(
    session: Session, request: SoapRequest, fields: frozenset[TaxField]
) -> etree._Element:
    wrapper = response_wrapper(request, mapping.NAMESPACE, mapping.PREFIX)
    try:
        taxpayer = get_taxpayer(session, required_argument(request, "tin"))
    except NotFound as e:
        append_business_fault(wrapper, e)
    else:
        mapping.append_record(wrapper, "taxpayer", mapping.taxpayer_record(taxpayer, fields))
    return wrapper


SoapHandler = Callable[[Session, SoapRequest, frozenset[TaxField]], etree._Element]

SOAP_SERVICES: Final[Mapping[str, SoapHandler]] = MappingProxyType(
    {"getTaxStatus": _get_tax_status, "getTaxpayer": _get_taxpayer}
)


def answer_soap(session: Session, request: SoapRequest, policy: FieldsByClient) -> etree._Element:
    """The response wrapper for `request`; `InvalidSoap` if this registry has no such service.

    Business errors (an unknown taxpayer) are in the wrapper; malformed input raises.
    """
    handler = handler_for(SOAP_SERVICES, mapping.NAMESPACE, request)
    return handler(session, request, disclosed_fields(policy, client_from_soap(request)))
