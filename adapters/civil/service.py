"""The civil registry's services: service code -> handler, for SOAP and REST alike.

Both protocols call the same lookups and the same disclosure policy, so a malformed register
number, an unknown person or a withheld field means the same thing over SOAP and REST; only
the wire form differs (see `app`).
"""

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Final

from lxml import etree
from sqlalchemy.orm import Session

from adapters.civil import mapping, registry
from adapters.civil.disclosure import DisclosurePolicy, PersonField
from adapters.civil.registry import Person, Relation
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


class PersonNotFound(NotFound):
    """The register number is well formed but nobody holds it."""

    code = "PersonNotFound"


def get_person(session: Session, register_number: str) -> Person:
    """The person with `register_number`; raises `InvalidRegisterNumber` or not found."""
    birth_date_of(register_number)  # validates, so a typo is told apart from an unknown person
    person = registry.find_person(session, register_number)
    if person is None:
        raise PersonNotFound(f"no person is registered with number {register_number}")
    return person


def get_family(
    session: Session, register_number: str
) -> tuple[Person, Sequence[tuple[Relation, Person]]]:
    """The person and their spouses, parents and children."""
    person = get_person(session, register_number)
    return person, registry.relatives_of(session, person)


def disclosed_fields(policy: DisclosurePolicy, request: SoapRequest) -> frozenset[PersonField]:
    """The fields this SOAP request's client receives for the purpose it states."""
    return policy.fields_for(client_from_soap(request), request.header_text("issue"))


def _get_person(
    session: Session, request: SoapRequest, fields: frozenset[PersonField]
) -> etree._Element:
    wrapper = response_wrapper(request, mapping.NAMESPACE, mapping.PREFIX)
    try:
        person = get_person(session, required_argument(request, "registerNumber"))
    except NotFound as e:
        append_business_fault(wrapper, e)
    else:
        mapping.append_person(wrapper, mapping.person_record(person, fields))
    return wrapper


def _get_family(
    session: Session, request: SoapRequest, fields: frozenset[PersonField]
) -> etree._Element:
    wrapper = response_wrapper(request, mapping.NAMESPACE, mapping.PREFIX)
    try:
        person, relatives = get_family(session, required_argument(request, "registerNumber"))
    except NotFound as e:
        append_business_fault(wrapper, e)
    else:
        mapping.append_family(wrapper, mapping.family(person, relatives, fields))
    return wrapper


SoapHandler = Callable[[Session, SoapRequest, frozenset[PersonField]], etree._Element]

SOAP_SERVICES: Final[Mapping[str, SoapHandler]] = MappingProxyType(
    {"getPerson": _get_person, "getFamily": _get_family}
)


def answer_soap(
    session: Session, request: SoapRequest, policy: DisclosurePolicy
) -> etree._Element:
    """The response wrapper for `request`; `InvalidSoap` if this registry has no such service.

    Business errors (an unknown person) are in the wrapper; malformed input raises.
    """
    handler = handler_for(SOAP_SERVICES, mapping.NAMESPACE, request)
    return handler(session, request, disclosed_fields(policy, request))
