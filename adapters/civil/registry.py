"""The civil registry's own database: persons and their family relations.

The registry, not the bus, owns this data; the adapter reads it and nothing in `xroad/`
imports it. Family relations are stored in both directions (a marriage is two `spouse`
rows), so "who is related to this person" is one indexed lookup.
"""

from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from typing import Final

from sqlalchemy import ForeignKey, String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, aliased, mapped_column

from adapters.toolkit.database import wire_enum
from adapters.toolkit.register_number import Sex

CITIZENSHIP_MN: Final = "MN"


class Status(StrEnum):
    """Whether the person is alive; the values are the wire strings."""

    ALIVE = "alive"
    DECEASED = "deceased"


class Relation(StrEnum):
    """What the relative is to the person: `parent` means "the relative is my parent"."""

    SPOUSE = "spouse"
    PARENT = "parent"
    CHILD = "child"



class Base(DeclarativeBase):
    """Declarative base of the civil registry's tables."""


class Person(Base):
    """A person as registered by the General Authority for State Registration.

    `family_name` is the ovog (the father's given name, or the mother's when no father is
    registered); `clan_name` is the urgiin ovog, inherited from the father.
    """

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    register_number: Mapped[str] = mapped_column(String(10), unique=True)
    family_name: Mapped[str] = mapped_column(String(64))
    given_name: Mapped[str] = mapped_column(String(64))
    clan_name: Mapped[str] = mapped_column(String(64))
    sex: Mapped[Sex] = mapped_column(wire_enum(Sex))
    birth_date: Mapped[date]
    birth_place: Mapped[str] = mapped_column(String(64))
    citizenship: Mapped[str] = mapped_column(String(2))
    aimag: Mapped[str] = mapped_column(String(64))
    soum: Mapped[str] = mapped_column(String(64))
    bag: Mapped[str] = mapped_column(String(64))
    status: Mapped[Status] = mapped_column(wire_enum(Status))


class FamilyRelation(Base):
    """`relative` is the `relation` of `person` (one row per direction)."""

    __tablename__ = "family_relation"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    relative_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    relation: Mapped[Relation] = mapped_column(wire_enum(Relation))


def count_persons(session: Session) -> int:
    """Number of registered persons (0 means the registry still needs its seed data)."""
    return session.scalar(select(func.count()).select_from(Person)) or 0


def find_person(session: Session, register_number: str) -> Person | None:
    """The person with `register_number`, if registered."""
    return session.scalars(
        select(Person).where(Person.register_number == register_number)
    ).one_or_none()


def relatives_of(session: Session, person: Person) -> Sequence[tuple[Relation, Person]]:
    """The person's spouses, parents and children, in that order, oldest first."""
    relative = aliased(Person)
    rows = session.execute(
        select(FamilyRelation.relation, relative)
        .join(relative, relative.id == FamilyRelation.relative_id)
        .where(FamilyRelation.person_id == person.id)
        .order_by(FamilyRelation.relation, relative.birth_date, relative.id)
    ).all()
    order = list(Relation)
    return sorted(((row[0], row[1]) for row in rows), key=lambda pair: order.index(pair[0]))
