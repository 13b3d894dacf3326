"""Deterministic seed data: vehicles owned by the civil registry's seeded adults.

Owners are drawn from `adapters.civil.seed.generate()` (read only), so every owner is a real
person of the civil registry, and a vehicle is registered in the region where its owner
lives. Everything derives from one `random.Random(SEED)` and the civil seed's `AS_OF`, never
from the clock. The demo person `УБ99112233` always owns the same two vehicles.
"""

import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Final

from sqlalchemy import insert
from sqlalchemy.orm import Session

from adapters.civil import places
from adapters.civil import seed as civil_seed
from adapters.civil.registry import Status
from adapters.vehicle import catalogue, plate, vin
from adapters.vehicle.registry import InspectionStatus, InsuranceStatus, Vehicle, count_vehicles

SEED: Final = 1921  # any fixed value would do; changing it changes every seeded vehicle
AS_OF: Final = civil_seed.AS_OF
DEMO_OWNER: Final = civil_seed.DEMO_REGISTER_NUMBER
SERIAL_LETTERS: Final = "АБВГДЕЖЗИКЛМНОПРСТУХЦЧШЭЮЯӨҮ"
_ADULT_AGE: Final = 18
_VEHICLES_PER_ADULT: Final = ((0, 1, 2, 3), (55, 35, 8, 2))
_PLANTS: Final = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
_CAPITAL_CODES: Final[tuple[str, ...]] = ("УБ", "УН", "УА", "УЕ", "УК")
_DISTRICT_CODES: Final[Mapping[str, tuple[str, ...]]] = {
    places.district("Багануур"): ("БН",),
    places.district("Налайх"): ("НА",),
}


@dataclass(frozen=True, slots=True)
class VehicleRow:
    """One `vehicle` row; field names are the column names."""

    id: int
    plate_number: str
    vin: str
    make: str
    model: str
    year: int
    owner_register_number: str
    registration_date: date
    inspection_status: InspectionStatus
    inspection_date: date
    insurance_status: InsuranceStatus
    insurance_valid_until: date


# plate, make, model, year, vin serial, registered, inspection, inspected, insurance, until
_DEMO_VEHICLES: Final = (
    ("1234УБА", "Toyota", "Prius", 2015, 418207, date(2019, 6, 14),
     InspectionStatus.PASSED, date(2024, 9, 3), InsuranceStatus.VALID, date(2025, 9, 2)),
    ("0718УНЕ", "Hyundai", "Porter II", 2012, 90531, date(2021, 3, 2),
     InspectionStatus.FAILED, date(2024, 11, 20), InsuranceStatus.EXPIRED, date(2024, 12, 1)),
)  # fmt: skip


def _adult_on(born: date) -> date:
    """The 18th birthday (1 March for those born on 29 February)."""
    try:
        return born.replace(year=born.year + _ADULT_AGE)
    except ValueError:
        return date(born.year + _ADULT_AGE, 3, 1)


class _Registrar:
    """Registers vehicles, handing out unique plates and VINs."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.vehicles: list[VehicleRow] = []
        self._plates: set[str] = set()
        self._vins: set[str] = set()

    def _plate(self, aimag: str, soum: str) -> str:
        """A free plate of the owner's region: its aimag, or a district of the capital."""
        if aimag == places.CAPITAL:
            codes = _DISTRICT_CODES.get(soum, _CAPITAL_CODES)
        else:
            codes = plate.codes_of(aimag) or _CAPITAL_CODES
        while True:
            text = f"{self.rng.randrange(10_000):04d}{self.rng.choice(codes)}"
            candidate = text + self.rng.choice(SERIAL_LETTERS)
            if candidate not in self._plates:
                return candidate

    def _vin(self, model: catalogue.CarModel, year: int) -> str:
        while True:
            plant = self.rng.choice(_PLANTS)
            candidate = vin.compose(
                model.wmi, model.descriptor, year, plant, self.rng.randrange(1_000_000)
            )
            if candidate not in self._vins:
                return candidate

    def register(self, row: VehicleRow) -> None:
        self._plates.add(row.plate_number)
        self._vins.add(row.vin)
        self.vehicles.append(row)

    def random_vehicle(self, owner: civil_seed.PersonRow, adult_since: date) -> None:
        rng = self.rng
        models = catalogue.CAR_MODELS
        model = rng.choices(models, [m.weight for m in models])[0]
        year = rng.randint(model.first_year, min(model.last_year, AS_OF.year - 1))
        first_day = max(date(year, 1, 1) + timedelta(days=rng.randint(30, 900)), adult_since)
        if first_day >= AS_OF:
            return
        registered = date.fromordinal(rng.randint(first_day.toordinal(), AS_OF.toordinal() - 1))
        inspected = max(registered, AS_OF - timedelta(days=rng.randint(1, 450)))
        until = AS_OF + timedelta(days=rng.randint(-120, 364))
        insurance = InsuranceStatus.EXPIRED if until < AS_OF else InsuranceStatus.VALID
        if insurance is InsuranceStatus.VALID and rng.random() < 0.03:
            insurance = InsuranceStatus.CANCELLED
        self.register(
            VehicleRow(
                id=len(self.vehicles) + 1,
                plate_number=self._plate(owner.aimag, owner.soum),
                vin=self._vin(model, year),
                make=model.make,
                model=model.model,
                year=year,
                owner_register_number=owner.register_number,
                registration_date=registered,
                inspection_status=(
                    InspectionStatus.PASSED if rng.random() < 0.88 else InspectionStatus.FAILED
                ),
                inspection_date=inspected,
                insurance_status=insurance,
                insurance_valid_until=until,
            )
        )


def _demo_vehicles(registrar: _Registrar) -> None:
    for entry in _DEMO_VEHICLES:
        number, make, name, year, serial, registered, inspection, inspected, insurance, until = (
            entry
        )
        model = catalogue.find(make, name)
        registrar.register(
            VehicleRow(
                id=len(registrar.vehicles) + 1,
                plate_number=number,
                vin=vin.compose(model.wmi, model.descriptor, year, "0", serial),
                make=make,
                model=name,
                year=year,
                owner_register_number=DEMO_OWNER,
                registration_date=registered,
                inspection_status=inspection,
                inspection_date=inspected,
                insurance_status=insurance,
                insurance_valid_until=until,
            )
        )


def generate(seed: int = SEED) -> tuple[VehicleRow, ...]:
    """The seed rows for `seed`: equal seeds give equal rows, byte for byte."""
    registrar = _Registrar(random.Random(seed))
    _demo_vehicles(registrar)
    counts, weights = _VEHICLES_PER_ADULT
    for person in civil_seed.generate().persons:
        adult_since = _adult_on(person.birth_date)
        if person.status is not Status.ALIVE or adult_since >= AS_OF:
            continue
        if person.register_number == DEMO_OWNER:
            continue
        for _ in range(registrar.rng.choices(counts, weights)[0]):
            registrar.random_vehicle(person, adult_since)
    return tuple(registrar.vehicles)


def seed_if_empty(session: Session, seed: int = SEED) -> bool:
    """Insert the seed data unless the registry already holds vehicles; True if it did.

    The caller commits, so a failure half-way leaves the registry empty and retried next start.
    """
    if count_vehicles(session) > 0:
        return False
    session.execute(insert(Vehicle), [asdict(row) for row in generate(seed)])
    return True
