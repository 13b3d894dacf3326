"""Registry rows to X-Road payloads: REST JSON (the OpenAPI shapes) and SOAP elements.

One pydantic model per answer, holding only what the client may see (`disclosure`): REST
returns it, SOAP writes it with the toolkit's `append_model` (snake_case in JSON, camelCase in
XML), so a client sees one person either way. A withheld field is absent, never null. The XML
shapes are those of `schemas/civil/civil-registry.wsdl`, in the models' field order; a test
validates them.
"""

from collections.abc import Mapping, Sequence
from datetime import date
from types import MappingProxyType
from typing import Final

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field

from adapters.civil.disclosure import ALL_FIELDS, PersonField
from adapters.civil.registry import Person, Relation, Status
from adapters.toolkit.payload import append_model
from adapters.toolkit.register_number import Sex

NAMESPACE: Final = "http://civil.gov.mn/xroad"
PREFIX: Final = "civ"
_WITHHELD: Final = "absent when withheld from this client (data minimisation)"


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
    family_name: str | None = Field(default=None, description=f"ovog; {_WITHHELD}")
    given_name: str | None = Field(default=None, description=_WITHHELD)
    clan_name: str | None = Field(default=None, description=_WITHHELD)
    sex: Sex | None = Field(default=None, description=_WITHHELD)
    birth_date: date | None = Field(default=None, description=_WITHHELD)
    birth_place: str | None = Field(default=None, description=_WITHHELD)
    citizenship: str | None = Field(default=None, description=_WITHHELD)
    address: Address | None = Field(default=None, description=_WITHHELD)
    status: Status | None = Field(default=None, description=_WITHHELD)


class Relative(BaseModel):
    """A family member: who they are to the person asked about, and no address.

    A relative's address is not part of the answer: it is that relative's own data, to be
    asked for (and logged) on its own.
    """

    model_config = ConfigDict(frozen=True)

    relation: Relation
    register_number: str
    family_name: str | None = Field(default=None, description=_WITHHELD)
    given_name: str | None = Field(default=None, description=_WITHHELD)
    sex: Sex | None = Field(default=None, description=_WITHHELD)
    birth_date: date | None = Field(default=None, description=_WITHHELD)
    status: Status | None = Field(default=None, description=_WITHHELD)


class Family(BaseModel):
    """The answer of `persons/{registerNumber}/family`."""

    model_config = ConfigDict(frozen=True)

    register_number: str
    relatives: list[Relative] | None = Field(
        default=None, description=f"empty if the person has none; {_WITHHELD}"
    )


# Which field of the answers each `PersonField` covers.
_COVERS: Final[Mapping[str, PersonField]] = MappingProxyType(
    {
        "family_name": PersonField.NAME,
        "given_name": PersonField.NAME,
        "clan_name": PersonField.CLAN_NAME,
        "sex": PersonField.SEX,
        "birth_date": PersonField.BIRTH_DATE,
        "birth_place": PersonField.BIRTH_PLACE,
        "citizenship": PersonField.CITIZENSHIP,
        "address": PersonField.ADDRESS,
        "status": PersonField.STATUS,
        "relatives": PersonField.FAMILY,
    }
)


def _disclosed(values: Mapping[str, object], fields: frozenset[PersonField]) -> dict[str, object]:
    """`values` without those `fields` withhold; fields no `PersonField` covers are keys."""
    return {name: v for name, v in values.items() if name not in _COVERS or _COVERS[name] in fields}


def person_record(person: Person, fields: frozenset[PersonField] = ALL_FIELDS) -> PersonRecord:
    """The REST shape of `person`, with only `fields` set (serialize with `exclude_unset`)."""
    values = {
        name: getattr(person, name) for name in PersonRecord.model_fields if name != "address"
    }
    values["address"] = Address(aimag=person.aimag, soum=person.soum, bag=person.bag)
    return PersonRecord.model_validate(_disclosed(values, fields))


def _relative(relation: Relation, person: Person, fields: frozenset[PersonField]) -> Relative:
    values = {name: getattr(person, name) for name in Relative.model_fields if name != "relation"}
    return Relative.model_validate(_disclosed({"relation": relation, **values}, fields))


def family(
    person: Person,
    relatives: Sequence[tuple[Relation, Person]],
    fields: frozenset[PersonField] = ALL_FIELDS,
) -> Family:
    """The REST shape of the person's family; no relatives at all unless `FAMILY` is disclosed."""
    values = {
        "register_number": person.register_number,
        "relatives": [_relative(relation, relative, fields) for relation, relative in relatives],
    }
    return Family.model_validate(_disclosed(values, fields))


def append_person(wrapper: etree._Element, record: PersonRecord) -> None:
    """Add `<person>` to a `getPersonResponse`."""
    append_model(wrapper, NAMESPACE, "person", record)


def append_family(wrapper: etree._Element, record: Family) -> None:
    """Add `<family>` to a `getFamilyResponse`."""
    append_model(wrapper, NAMESPACE, "family", record)
