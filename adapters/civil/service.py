"""The civil registry's services: service code -> handler, for SOAP and REST alike.

Both protocols call the same lookups, so a malformed register number or an unknown person
means the same thing over SOAP and REST; only the wire form differs (see `app`).
"""

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Final

from lxml import etree
from sqlalchemy.orm import Session

from adapters.civil import mapping, registry
from adapters.civil.registry import Person, Relation
from adapters.toolkit.errors import InvalidRequest, NotFound
from adapters.toolkit.register_number import birth_date_of
from adapters.toolkit.soap import SoapRequest, response_wrapper
from xroad.errors import InvalidSoap


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


def _register_number(request: SoapRequest) -> str:
    register_number = mapping.register_number_in(request.body)
    if register_number is None:
        raise InvalidRequest(f"{request.service_code} needs a registerNumber element")
    return register_number


def _get_person(session: Session, request: SoapRequest) -> etree._Element:
    wrapper = response_wrapper(request, mapping.NAMESPACE, mapping.PREFIX)
    try:
        mapping.append_person(wrapper, get_person(session, _register_number(request)))
    except NotFound as e:
        mapping.append_business_fault(wrapper, e)
    return wrapper


def _get_family(session: Session, request: SoapRequest) -> etree._Element:
    wrapper = response_wrapper(request, mapping.NAMESPACE, mapping.PREFIX)
    try:
        mapping.append_family(wrapper, *get_family(session, _register_number(request)))
    except NotFound as e:
        mapping.append_business_fault(wrapper, e)
    return wrapper


SoapHandler = Callable[[Session, SoapRequest], etree._Element]

SOAP_SERVICES: Final[Mapping[str, SoapHandler]] = MappingProxyType(
    {"getPerson": _get_person, "getFamily": _get_family}
)


def answer_soap(session: Session, request: SoapRequest) -> etree._Element:
    """The response wrapper for `request`; `InvalidSoap` if this registry has no such service.

    Business errors (an unknown person) are in the wrapper; malformed input raises.
    """
    handler = SOAP_SERVICES.get(request.service_code)
    if handler is None or request.namespace != mapping.NAMESPACE:
        raise InvalidSoap(
            f"no service {request.service_code!r} in namespace {request.namespace!r}; "
            f"this registry offers {', '.join(SOAP_SERVICES)} in {mapping.NAMESPACE}"
        )
    return handler(session, request)
