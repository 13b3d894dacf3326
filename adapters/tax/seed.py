"""Deterministic seed data: the tax records of the civil registry's adults.

Taxpayers are real persons of the civil registry: the civil registry's own seed generator
(`adapters.civil.seed.generate`, itself deterministic) says who exists, and about 85% of the
living adults are registered taxpayers. Everything else derives from one
`random.Random(SEED)` and the fixed date `AS_OF`, never from the clock, so every demo instance
and test run holds the same records. The demo person `УБ99112233` always has fixed data with
property and vehicle tax, because the portal and the demo refer to him.
"""

import random
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date
from typing import Final

from sqlalchemy import insert
from sqlalchemy.orm import Session

from adapters.civil import seed as civil_seed
from adapters.civil.registry import Status
from adapters.tax.registry import Taxpayer, TaxpayerStatus, count_taxpayers
from adapters.tax.tin import tin_of

SEED: Final = 7010  # any fixed value would do
AS_OF: Final = date(2025, 6, 30)  # the tax records' "today": mid-year, after the annual return
TAX_YEAR: Final = AS_OF.year
DEMO_REGISTER_NUMBER: Final = civil_seed.DEMO_REGISTER_NUMBER
_ADULT_AGE: Final = 18
_FIRST_REGISTRATION: Final = date(1993, 1, 1)  # the General Department of Taxation's records
_REGISTERED_SHARE: Final = 0.85


@dataclass(frozen=True, slots=True)
class TaxpayerRow:
    """One `taxpayer` row; field names are the column names."""

    id: int
    tin: str
    register_number: str
    registered_since: date
    status: TaxpayerStatus
    arrears_mnt: int
    tax_year: int
    property_tax_due_mnt: int
    property_tax_paid: bool
    vehicle_tax_due_mnt: int
    vehicle_tax_paid: bool
    last_filing_date: date | None
    last_filing_period: str | None


def _demo_taxpayer(row_id: int) -> TaxpayerRow:
    """Бат-Эрдэнэ Болд: active, no arrears, property tax still due, vehicle tax paid."""
    return TaxpayerRow(
        id=row_id,
        tin=tin_of(DEMO_REGISTER_NUMBER),
        register_number=DEMO_REGISTER_NUMBER,
        registered_since=date(2018, 9, 3),
        status=TaxpayerStatus.ACTIVE,
        arrears_mnt=0,
        tax_year=TAX_YEAR,
        property_tax_due_mnt=186_000,
        property_tax_paid=False,
        vehicle_tax_due_mnt=96_000,
        vehicle_tax_paid=True,
        last_filing_date=date(2025, 2, 7),
        last_filing_period=str(TAX_YEAR - 1),
    )


def _anniversary(born: date, years: int) -> date:
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # born on 29 February
        return date(born.year + years, 3, 1)


class _Assessor:
    """Draws one taxpayer's record; every draw comes from the one seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def _day(self, first: date, last: date) -> date:
        return date.fromordinal(self.rng.randint(first.toordinal(), last.toordinal()))

    def _amount(self, low: int, high: int) -> int:
        return self.rng.randrange(low, high, 100)  # assessments are in whole hundreds of MNT

    def _filing(self, registered: date) -> tuple[date | None, str | None]:
        """The last return: the annual one for last year, a quarterly one, or none."""
        kind = self.rng.choices(("annual", "quarterly", "none"), (70, 12, 18))[0]
        if kind == "annual" and registered.year < TAX_YEAR:
            return self._day(date(TAX_YEAR, 1, 5), date(TAX_YEAR, 2, 10)), str(TAX_YEAR - 1)
        if kind == "quarterly" and registered < date(TAX_YEAR, 4, 1):
            return self._day(date(TAX_YEAR, 4, 1), date(TAX_YEAR, 4, 20)), f"{TAX_YEAR}-Q1"
        return None, None  # salaried: the employer withholds and reports

    def _tax(self, share: float, low: int, high: int, paid_share: float) -> tuple[int, bool]:
        """This year's amount of one tax and whether it is settled (nothing due is settled)."""
        if self.rng.random() >= share:
            return 0, True
        return self._amount(low, high), self.rng.random() < paid_share

    def taxpayer(self, row_id: int, person: civil_seed.PersonRow) -> TaxpayerRow:
        rng = self.rng
        first = max(_anniversary(person.birth_date, _ADULT_AGE), _FIRST_REGISTRATION)
        registered = self._day(first, date(TAX_YEAR, 3, 31))
        arrears = self._amount(5_000, 2_500_000) if rng.random() < 0.12 else 0
        suspended = rng.random() < 0.04
        filed_on, period = self._filing(registered)
        property_due, property_paid = self._tax(0.55, 30_000, 900_000, 0.6)
        vehicle_due, vehicle_paid = self._tax(0.45, 40_000, 300_000, 0.7)
        return TaxpayerRow(
            id=row_id,
            tin=tin_of(person.register_number),
            register_number=person.register_number,
            registered_since=registered,
            status=TaxpayerStatus.SUSPENDED if suspended else TaxpayerStatus.ACTIVE,
            arrears_mnt=arrears,
            tax_year=TAX_YEAR,
            property_tax_due_mnt=property_due,
            property_tax_paid=property_paid,
            vehicle_tax_due_mnt=vehicle_due,
            vehicle_tax_paid=vehicle_paid,
            last_filing_date=filed_on,
            last_filing_period=period,
        )


def _adults(persons: Iterable[civil_seed.PersonRow]) -> list[civil_seed.PersonRow]:
    """Living persons of age on the civil registry's seed date, in civil registry order."""
    return [
        person
        for person in persons
        if person.status is Status.ALIVE
        and _anniversary(person.birth_date, _ADULT_AGE) <= civil_seed.AS_OF
    ]


def generate(seed: int = SEED) -> tuple[TaxpayerRow, ...]:
    """The seed rows for `seed`: equal seeds give equal rows, byte for byte."""
    assessor = _Assessor(random.Random(seed))
    rows: list[TaxpayerRow] = []
    for person in _adults(civil_seed.generate().persons):
        row_id = len(rows) + 1
        if person.register_number == DEMO_REGISTER_NUMBER:
            rows.append(_demo_taxpayer(row_id))
        elif assessor.rng.random() < _REGISTERED_SHARE:
            rows.append(assessor.taxpayer(row_id, person))
    return tuple(rows)


def seed_if_empty(session: Session, seed: int = SEED) -> bool:
    """Insert the seed data unless the registry already holds taxpayers; True if it did.

    The caller commits, so a failure half-way leaves the registry empty and retried next start.
    """
    if count_taxpayers(session) > 0:
        return False
    session.execute(insert(Taxpayer), [asdict(row) for row in generate(seed)])
    return True
