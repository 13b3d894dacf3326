"""Deterministic seed data: parcels owned by the civil registry's seeded persons.

Owners are drawn from `adapters.civil.seed.generate()`, the very persons the civil registry
holds, and their parcels lie where they live (aimag and soum or district from their address),
so a profile composed through the bus is consistent across registries. Everything derives
from one `random.Random(SEED)` and the civil seed's fixed `AS_OF`, never from the clock.
`УБ99112233` always owns two parcels: a home shared half and half with his wife, and an
agricultural plot in Архангай held alone.
"""

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from types import MappingProxyType
from typing import Final

from sqlalchemy import insert
from sqlalchemy.orm import Session

from adapters.civil import places
from adapters.civil import seed as civil_seed
from adapters.civil.registry import Relation, Status
from adapters.land.registry import LandUse, Ownership, Parcel, count_parcels

SEED: Final = 9760  # any fixed value; distinct from the civil registry's
AS_OF: Final = civil_seed.AS_OF
DEMO_REGISTER_NUMBER: Final = civil_seed.DEMO_REGISTER_NUMBER
LAND_LAW: Final = date(2003, 5, 1)  # private ownership of land by citizens begins
_ADULT_AGE: Final = 18
_TERMS_YEARS: Final = (15, 25, 40, 60)  # possession is granted for a term, ownership is not


@dataclass(frozen=True, slots=True)
class Location:
    """Aimag or the capital, and soum or district, as written in an address."""

    aimag: str
    soum: str


def _home(person: civil_seed.PersonRow) -> Location:
    return Location(person.aimag, person.soum)


@dataclass(frozen=True, slots=True)
class ParcelRow:
    """One `parcel` row; field names are the column names."""

    id: int
    parcel_id: str
    aimag: str
    soum: str
    area_m2: int
    land_use: LandUse
    certificate_number: str
    valid_from: date
    valid_until: date | None


@dataclass(frozen=True, slots=True)
class OwnershipRow:
    """One `ownership` row: `register_number` holds `share_numerator/share_denominator`."""

    parcel_pk: int
    register_number: str
    share_numerator: int
    share_denominator: int


@dataclass(frozen=True, slots=True)
class SeedData:
    """The rows to insert, in insertion order."""

    parcels: tuple[ParcelRow, ...]
    ownerships: tuple[OwnershipRow, ...]


def _location_codes() -> Mapping[tuple[str, str], str]:
    """(aimag, soum as written in an address) -> the 4 leading digits of its parcel ids.

    The demo's own numbering: 01 is the capital, 02-22 the aimags in alphabetical order;
    then the district's or soum's position in `places`.
    """
    codes = {
        (places.CAPITAL, places.district(name)): f"01{i:02d}"
        for i, name in enumerate(places.CAPITAL_DISTRICTS, start=1)
    }
    for a, aimag in enumerate(sorted(places.AIMAG_SOUMS), start=2):
        for s, soum in enumerate(places.AIMAG_SOUMS[aimag], start=1):
            codes[aimag, places.soum(soum)] = f"{a:02d}{s:02d}"
    return MappingProxyType(codes)


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


class _Cadastre:
    """Registers parcels, handing out parcel ids and certificate numbers."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.parcels: list[ParcelRow] = []
        self.ownerships: list[OwnershipRow] = []
        self._codes = _location_codes()
        self._serials: dict[str, int] = {}
        self._certificates: set[str] = set()

    def _certificate_number(self) -> str:
        while True:
            candidate = f"Г{self.rng.randrange(10**7):07d}"
            if candidate not in self._certificates:
                self._certificates.add(candidate)
                return candidate

    def register(
        self,
        location: Location,
        land_use: LandUse,
        area_m2: int,
        valid_from: date,
        owners: Sequence[civil_seed.PersonRow],
    ) -> ParcelRow:
        """A parcel shared equally by `owners`, under ownership or a possession term."""
        code = self._codes[location.aimag, location.soum]
        self._serials[code] = self._serials.get(code, 0) + 1
        valid_until = None
        if land_use is not LandUse.RESIDENTIAL:
            term = self.rng.choice(_TERMS_YEARS)
            while (valid_until := _add_years(valid_from, term)) <= AS_OF:
                valid_from = valid_until  # renewed: a new certificate from the old one's end
        parcel = ParcelRow(
            id=len(self.parcels) + 1,
            parcel_id=f"{code}{self._serials[code]:06d}",
            aimag=location.aimag,
            soum=location.soum,
            area_m2=area_m2,
            land_use=land_use,
            certificate_number=self._certificate_number(),
            valid_from=valid_from,
            valid_until=valid_until,
        )
        self.parcels.append(parcel)
        self.ownerships.extend(
            OwnershipRow(parcel.id, owner.register_number, 1, len(owners)) for owner in owners
        )
        return parcel


def _couples(data: civil_seed.SeedData) -> Iterator[tuple[civil_seed.PersonRow, ...]]:
    by_id = {person.id: person for person in data.persons}
    for relation in data.relations:
        if relation.relation is Relation.SPOUSE and relation.person_id < relation.relative_id:
            yield by_id[relation.person_id], by_id[relation.relative_id]


def _spouse_of(
    data: civil_seed.SeedData, person: civil_seed.PersonRow
) -> civil_seed.PersonRow | None:
    pairs = (pair for pair in _couples(data) if person in pair)
    return next((pair[1] if pair[0] == person else pair[0] for pair in pairs), None)


class _Allotment:
    """Random parcels for the civil registry's living adults and married couples."""

    def __init__(self, cadastre: _Cadastre) -> None:
        self.cadastre = cadastre
        self.rng = cadastre.rng
        self.aimags = sorted(places.AIMAG_SOUMS)

    def countryside(self, home: Location) -> Location:
        """A soum in the owner's aimag, or in any aimag for people living in the capital."""
        aimag = home.aimag if home.aimag in places.AIMAG_SOUMS else self.rng.choice(self.aimags)
        soum = places.soum(self.rng.choice(places.AIMAG_SOUMS[aimag]))
        return Location(aimag, soum)

    def area(self, land_use: LandUse, location: Location) -> int:
        rng = self.rng
        if land_use is LandUse.RESIDENTIAL:  # 0.07 ha in the capital, up to 0.35 ha elsewhere
            return rng.randint(300, 700 if location.aimag == places.CAPITAL else 3500)
        if land_use is LandUse.COMMERCIAL:
            return rng.randint(60, 3000)
        if land_use is LandUse.PASTURE:  # winter and spring camps
            return 100 * rng.randint(10, 500)
        return 100 * rng.randint(100, 10000)

    def since(self, *owners: civil_seed.PersonRow) -> date:
        """A grant date after the land law and once every owner was of age."""
        first = max(LAND_LAW, *(_add_years(p.birth_date, _ADULT_AGE) for p in owners))
        return date.fromordinal(self.rng.randint(first.toordinal(), AS_OF.toordinal() - 1))

    def home(self, *owners: civil_seed.PersonRow) -> None:
        location = _home(owners[0])
        area = self.area(LandUse.RESIDENTIAL, location)
        self.cadastre.register(location, LandUse.RESIDENTIAL, area, self.since(*owners), owners)

    def plot(self, owner: civil_seed.PersonRow) -> None:
        land_use = self.rng.choices(list(LandUse), (30, 30, 15, 25))[0]
        stays_home = land_use in {LandUse.RESIDENTIAL, LandUse.COMMERCIAL}
        location = _home(owner) if stays_home else self.countryside(_home(owner))
        area = self.area(land_use, location)
        self.cadastre.register(location, land_use, area, self.since(owner), (owner,))


def _demo_parcels(
    cadastre: _Cadastre, bold: civil_seed.PersonRow, wife: civil_seed.PersonRow | None
) -> None:
    """His home, with his wife if the civil registry has one, and a plot of his own."""
    household = (bold,) if wife is None else (bold, wife)
    cadastre.register(_home(bold), LandUse.RESIDENTIAL, 650, date(2023, 6, 14), household)
    plot = Location("Архангай", places.soum("Батцэнгэл"))
    cadastre.register(plot, LandUse.AGRICULTURAL, 50000, date(2021, 4, 2), (bold,))


def generate(seed: int = SEED) -> SeedData:
    """The seed rows for `seed`: equal seeds give equal rows, byte for byte."""
    persons = civil_seed.generate()
    cadastre = _Cadastre(random.Random(seed))
    bold = next(p for p in persons.persons if p.register_number == DEMO_REGISTER_NUMBER)
    wife = _spouse_of(persons, bold)
    _demo_parcels(cadastre, bold, wife)
    allotment = _Allotment(cadastre)

    def eligible(person: civil_seed.PersonRow) -> bool:
        adult = _add_years(person.birth_date, _ADULT_AGE) < AS_OF
        return adult and person.status is Status.ALIVE and person not in (bold, wife)

    for couple in _couples(persons):
        if all(eligible(p) for p in couple) and cadastre.rng.random() < 0.4:
            allotment.home(*couple)
    for person in persons.persons:
        if eligible(person) and cadastre.rng.random() < 0.15:
            allotment.plot(person)
    return SeedData(tuple(cadastre.parcels), tuple(cadastre.ownerships))


def seed_if_empty(session: Session, seed: int = SEED) -> bool:
    """Insert the seed data unless the registry already holds parcels; True if it did.

    The caller commits, so a failure half-way leaves the registry empty and retried next start.
    """
    if count_parcels(session) > 0:
        return False
    data = generate(seed)
    session.execute(insert(Parcel), [asdict(parcel) for parcel in data.parcels])
    session.execute(insert(Ownership), [asdict(owner) for owner in data.ownerships])
    return True
