"""Registry rows to X-Road payloads: REST JSON (the OpenAPI shapes) and SOAP elements.

The JSON models and the XML elements carry the same fields under the same names (snake_case
in JSON, camelCase in XML, as each world expects), so a client sees one person either way.
The XML shapes are those of `schemas/civil/civil-registry.wsdl`; a test validates them.
"""

from collections.abc import Sequence
from datetime import date
from typing import Final

from lxml import etree
from pydantic import BaseModel, ConfigDict

from adapters.civil.registry import Person, Relation, Status
from adapters.toolkit.errors import AdapterError
from adapters.toolkit.register_number import Sex
from adapters.toolkit.soap import child_text

NAMESPACE: Final = "http://civil.gov.mn/xroad"
PREFIX: Final = "civ"


class Address(BaseModel):
    """Aimag or capital, soum or district, bag or khoroo."""

    model_config = ConfigDict(frozen=True)

    aimag: str
    soum: str
    bag: str


class PersonRecord(BaseModel):
    """A person as the REST service `persons` returns it."""

    model_config = ConfigDict(frozen=True)

    register_number: str
    family_name: str
    given_name: str
    clan_name: str
    sex: Sex
    birth_date: date
    birth_place: str
    citizenship: str
    address: Address
    status: Status


class Relative(BaseModel):
    """A family member: who they are to the person asked about, and no address.

    A relative's address is not part of the answer: it is that relative's own data, to be
    asked for (and logged) on its own.
    """

    model_config = ConfigDict(frozen=True)

    relation: Relation
    register_number: str
    family_name: str
    given_name: str
    sex: Sex
    birth_date: date
    status: Status


class Family(BaseModel):
    """The answer of `persons/{registerNumber}/family`."""

    model_config = ConfigDict(frozen=True)

    register_number: str
    relatives: list[Relative]


def person_record(person: Person) -> PersonRecord:
    """The REST shape of `person`."""
    return PersonRecord(
        register_number=person.register_number,
        family_name=person.family_name,
        given_name=person.given_name,
        clan_name=person.clan_name,
        sex=person.sex,
        birth_date=person.birth_date,
        birth_place=person.birth_place,
        citizenship=person.citizenship,
        address=Address(aimag=person.aimag, soum=person.soum, bag=person.bag),
        status=person.status,
    )


def family(person: Person, relatives: Sequence[tuple[Relation, Person]]) -> Family:
    """The REST shape of the person's family."""
    return Family(
        register_number=person.register_number,
        relatives=[
            Relative(
                relation=relation,
                register_number=relative.register_number,
                family_name=relative.family_name,
                given_name=relative.given_name,
                sex=relative.sex,
                birth_date=relative.birth_date,
                status=relative.status,
            )
            for relation, relative in relatives
        ],
    )


def _add(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, etree.QName(NAMESPACE, name))
    child.text = text
    return child


def append_person(wrapper: etree._Element, person: Person) -> None:
    """Add `<person>` to a `getPersonResponse`."""
    element = _add(wrapper, "person")
    _add(element, "registerNumber", person.register_number)
    _add(element, "familyName", person.family_name)
    _add(element, "givenName", person.given_name)
    _add(element, "clanName", person.clan_name)
    _add(element, "sex", person.sex.value)
    _add(element, "birthDate", person.birth_date.isoformat())
    _add(element, "birthPlace", person.birth_place)
    _add(element, "citizenship", person.citizenship)
    address = _add(element, "address")
    _add(address, "aimag", person.aimag)
    _add(address, "soum", person.soum)
    _add(address, "bag", person.bag)
    _add(element, "status", person.status.value)


def append_family(
    wrapper: etree._Element, person: Person, relatives: Sequence[tuple[Relation, Person]]
) -> None:
    """Add `<family>` to a `getFamilyResponse`."""
    element = _add(wrapper, "family")
    _add(element, "registerNumber", person.register_number)
    for relation, relative in relatives:
        item = _add(element, "relative")
        _add(item, "relation", relation.value)
        _add(item, "registerNumber", relative.register_number)
        _add(item, "familyName", relative.family_name)
        _add(item, "givenName", relative.given_name)
        _add(item, "sex", relative.sex.value)
        _add(item, "birthDate", relative.birth_date.isoformat())
        _add(item, "status", relative.status.value)


def append_business_fault(wrapper: etree._Element, error: AdapterError) -> None:
    """Add `<fault>`: a business error in a normal response (PR-MESS Annex D.2)."""
    element = _add(wrapper, "fault")
    _add(element, "faultCode", error.code)
    _add(element, "faultString", str(error))


def register_number_in(wrapper: etree._Element) -> str | None:
    """The `registerNumber` of a request wrapper, qualified or not (clients differ)."""
    return child_text(wrapper, NAMESPACE, "registerNumber")
