"""Deterministic seed data: about 3000 persons living in families across Mongolia.

Everything derives from one `random.Random(SEED)` and the fixed date `AS_OF`, never from the
clock, so every demo instance and every test run holds the same persons. The demo person
`УБ99112233` (Бат-Эрдэнэ Болд) and his family always exist with fixed data, because the
other registries and the demo script refer to him.
"""

import random
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Final

from sqlalchemy import insert
from sqlalchemy.orm import Session

from adapters.civil import names, places
from adapters.civil.registry import (
    CITIZENSHIP_MN,
    FamilyRelation,
    Person,
    Relation,
    Status,
    count_persons,
)
from adapters.toolkit.register_number import Sex, compose, sex_of

SEED: Final = 976  # Mongolia's calling code; any fixed value would do
AS_OF: Final = date(2025, 1, 1)  # the seed data's "today": ages and deaths are relative to it
TARGET_PERSONS: Final = 3000
DEMO_REGISTER_NUMBER: Final = "УБ99112233"
_ADULT_AGE: Final = 18
_YEAR: Final = 365


@dataclass(frozen=True, slots=True)
class Address:
    """Aimag or capital, soum or district, bag or khoroo, as written in an address."""

    aimag: str
    soum: str
    bag: str


@dataclass(frozen=True, slots=True)
class PersonRow:
    """One `person` row; field names are the column names."""

    id: int
    register_number: str
    family_name: str
    given_name: str
    clan_name: str
    sex: Sex
    birth_date: date
    birth_place: str
    citizenship: str
    aimag: str
    soum: str
    bag: str
    status: Status


@dataclass(frozen=True, slots=True)
class RelationRow:
    """One `family_relation` row: `relative_id` is the `relation` of `person_id`."""

    person_id: int
    relative_id: int
    relation: Relation


@dataclass(frozen=True, slots=True)
class SeedData:
    """The rows to insert, in insertion order."""

    persons: tuple[PersonRow, ...]
    relations: tuple[RelationRow, ...]


def _age(born: date) -> int:
    return AS_OF.year - born.year - ((AS_OF.month, AS_OF.day) < (born.month, born.day))


class _Registrar:
    """Registers persons and relations, handing out unique register numbers."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.persons: list[PersonRow] = []
        self.relations: list[RelationRow] = []
        self._taken: set[str] = set()

    def _register_number(self, born: date, sex: Sex) -> str:
        while True:  # 56 letter pairs x 50 digit pairs per birthday: retries are rare
            candidate = compose(
                self.rng.choice(names.LETTER_PAIRS),
                born,
                sex,
                self.rng.randrange(5),
                self.rng.randrange(10),
            )
            if candidate not in self._taken:
                return candidate

    def _status(self, born: date) -> Status:
        age = _age(born)
        chance = 0.5 if age >= 85 else 0.2 if age >= 75 else 0.06 if age >= 60 else 0.004
        return Status.DECEASED if self.rng.random() < chance else Status.ALIVE

    def register(
        self,
        *,
        given: str,
        family: str,
        clan: str,
        sex: Sex,
        born: date,
        birth_place: str,
        address: Address,
        register_number: str | None = None,
        status: Status | None = None,
    ) -> PersonRow:
        number = register_number or self._register_number(born, sex)
        person = PersonRow(
            id=len(self.persons) + 1,
            register_number=number,
            family_name=family,
            given_name=given,
            clan_name=clan,
            sex=sex,
            birth_date=born,
            birth_place=birth_place,
            citizenship=CITIZENSHIP_MN,
            aimag=address.aimag,
            soum=address.soum,
            bag=address.bag,
            status=status or self._status(born),
        )
        self._taken.add(number)
        self.persons.append(person)
        return person

    def marry(self, husband: PersonRow, wife: PersonRow) -> None:
        self.relations.append(RelationRow(husband.id, wife.id, Relation.SPOUSE))
        self.relations.append(RelationRow(wife.id, husband.id, Relation.SPOUSE))

    def descend(self, child: PersonRow, parent: PersonRow) -> None:
        self.relations.append(RelationRow(child.id, parent.id, Relation.PARENT))
        self.relations.append(RelationRow(parent.id, child.id, Relation.CHILD))


_UB: Final = places.CAPITAL
_PARENTS_HOME: Final = Address(_UB, places.district("Сүхбаатар"), places.khoroo(8))
_DEMO_HOME: Final = Address(_UB, places.district("Баянзүрх"), places.khoroo(3))
# register number (its ninth digit gives the sex), given name, ovog, clan, born, birth place, home
_DEMO_FAMILY: Final = (
    ("УБ72031517", "Бат-Эрдэнэ", "Дорж", "Боржигин", date(1972, 3, 15), "Архангай", _PARENTS_HOME),
    ("УБ74080924", "Сарангэрэл", "Гомбо", "Хиад", date(1974, 8, 9), _UB, _PARENTS_HOME),
    (DEMO_REGISTER_NUMBER, "Болд", "Бат-Эрдэнэ", "Боржигин", date(1999, 11, 22), _UB, _DEMO_HOME),
    ("УБ04263068", "Анужин", "Бат-Эрдэнэ", "Боржигин", date(2004, 6, 30), _UB, _PARENTS_HOME),
    ("УБ01250846", "Номин", "Ганбаатар", "Хонгирад", date(2001, 5, 8), "Дархан-Уул", _DEMO_HOME),
    ("УБ23221415", "Тэмүүлэн", "Болд", "Боржигин", date(2023, 2, 14), _UB, _DEMO_HOME),
)


def _demo_family(registrar: _Registrar) -> None:
    """Бат-Эрдэнэ Болд (УБ99112233), his parents, sister, wife and son; all alive."""
    father, mother, bold, sister, wife, son = (
        registrar.register(
            given=given,
            family=family,
            clan=clan,
            sex=sex_of(number),
            born=born,
            birth_place=birth_place,
            address=home,
            register_number=number,
            status=Status.ALIVE,
        )
        for number, given, family, clan, born, birth_place, home in _DEMO_FAMILY
    )
    registrar.marry(father, mother)
    registrar.marry(bold, wife)
    for child in (bold, sister):
        registrar.descend(child, father)
        registrar.descend(child, mother)
    registrar.descend(son, bold)
    registrar.descend(son, wife)


class _Households:
    """Random households: couples with children, single parents, people living alone."""

    def __init__(self, registrar: _Registrar) -> None:
        self.registrar = registrar
        self.rng = registrar.rng
        self.aimags = sorted(places.AIMAG_SOUMS)
        self.districts = sorted(places.CAPITAL_DISTRICTS)

    def address(self) -> Address:
        rng = self.rng
        if rng.random() < 0.5:  # about half of Mongolians live in the capital
            weights = [places.CAPITAL_DISTRICTS[name] for name in self.districts]
            name = rng.choices(self.districts, weights)[0]
            khoroo = rng.randint(1, places.CAPITAL_DISTRICTS[name])
            return Address(places.CAPITAL, places.district(name), places.khoroo(khoroo))
        aimag = rng.choice(self.aimags)
        soums = places.AIMAG_SOUMS[aimag]
        soum = soums[0] if rng.random() < 0.4 else rng.choice(soums)  # aimag centres are big
        return Address(aimag, places.soum(soum), places.bag(rng.randint(1, places.BAGS_PER_SOUM)))

    def birth_place(self, address: Address) -> str:
        if self.rng.random() < 0.7:
            return address.aimag
        return self.rng.choice([places.CAPITAL, *self.aimags])

    def born_between(self, first: date, last: date) -> date:
        return date.fromordinal(self.rng.randint(first.toordinal(), last.toordinal()))

    def adult(self, sex: Sex, born: date, address: Address) -> PersonRow:
        """A founder of a household; their own father is not in the registry."""
        rng = self.rng
        fathers = names.ELDER_MALE_NAMES if born.year < 1970 else names.MALE_NAMES
        given = rng.choice(names.MALE_NAMES if sex is Sex.MALE else names.FEMALE_NAMES)
        return self.registrar.register(
            given=given,
            family=rng.choice(fathers),
            clan=rng.choice(names.CLAN_NAMES),
            sex=sex,
            born=born,
            birth_place=self.birth_place(address),
            address=address,
        )

    def children(self, mother_born: date, home: Address, lineage: PersonRow) -> list[PersonRow]:
        """Children born when the mother was 19-42; ovog and clan come from `lineage`."""
        rng = self.rng
        count = rng.choices(range(6), (10, 25, 30, 20, 10, 5))[0]
        births = sorted(
            mother_born + timedelta(days=rng.randint(19 * _YEAR, 42 * _YEAR)) for _ in range(count)
        )
        kids = []
        for born in (b for b in births if b < AS_OF):
            sex = rng.choice((Sex.MALE, Sex.FEMALE))
            grown = _age(born) >= _ADULT_AGE and rng.random() < 0.5
            address = self.address() if grown else home
            kids.append(
                self.registrar.register(
                    given=rng.choice(names.MALE_NAMES if sex is Sex.MALE else names.FEMALE_NAMES),
                    family=lineage.given_name,
                    clan=lineage.clan_name,
                    sex=sex,
                    born=born,
                    birth_place=self.birth_place(home),
                    address=address,
                )
            )
        return kids

    def household(self) -> None:
        rng, registrar = self.rng, self.registrar
        home = self.address()
        kind = rng.choices(("couple", "single parent", "alone"), (75, 13, 12))[0]
        if kind == "alone":
            sex = rng.choice((Sex.MALE, Sex.FEMALE))
            self.adult(sex, self.born_between(date(1940, 1, 1), date(2005, 12, 31)), home)
            return
        if kind == "single parent":
            born = self.born_between(date(1950, 1, 1), date(1995, 12, 31))
            mother = self.adult(Sex.FEMALE, born, home)
            for child in self.children(mother.birth_date, home, lineage=mother):
                registrar.descend(child, mother)
            return
        husband_born = self.born_between(date(1940, 1, 1), date(2000, 12, 31))
        wife_born = husband_born + timedelta(days=rng.randint(-3 * _YEAR, 8 * _YEAR))
        husband = self.adult(Sex.MALE, husband_born, home)
        wife = self.adult(Sex.FEMALE, min(wife_born, date(2002, 12, 31)), home)
        registrar.marry(husband, wife)
        for child in self.children(wife.birth_date, home, lineage=husband):
            registrar.descend(child, husband)
            registrar.descend(child, wife)


def generate(seed: int = SEED) -> SeedData:
    """The seed rows for `seed`: equal seeds give equal rows, byte for byte."""
    registrar = _Registrar(random.Random(seed))
    _demo_family(registrar)
    households = _Households(registrar)
    while len(registrar.persons) < TARGET_PERSONS:
        households.household()
    return SeedData(tuple(registrar.persons), tuple(registrar.relations))


def seed_if_empty(session: Session, seed: int = SEED) -> bool:
    """Insert the seed data unless the registry already holds persons; True if it did.

    The caller commits, so a failure half-way leaves the registry empty and retried next start.
    """
    if count_persons(session) > 0:
        return False
    data = generate(seed)
    session.execute(insert(Person), [asdict(person) for person in data.persons])
    session.execute(insert(FamilyRelation), [asdict(relation) for relation in data.relations])
    return True
