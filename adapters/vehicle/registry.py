"""The vehicle registry's own database: registered vehicles and their owners.

The registry, not the bus, owns this data. Owners are persons of the civil registry, held by
register number only: the vehicle registry has no copy of names or addresses to drift out of
date. Inspection and insurance statuses are as last reported to the registry by inspection
centres and insurers (an insurance can be cancelled before its end date), not recomputed
from the clock.
"""

from collections.abc import Sequence
from datetime import date
from enum import StrEnum

from sqlalchemy import String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, validates

from adapters.toolkit.database import wire_enum
from adapters.toolkit.register_number import is_valid as is_register_number
from adapters.vehicle.plate import is_valid as is_plate_number
from adapters.vehicle.vin import check_vin


class InspectionStatus(StrEnum):
    """Result of the last technical inspection (техникийн хяналтын үзлэг)."""

    PASSED = "passed"
    FAILED = "failed"


class InsuranceStatus(StrEnum):
    """Compulsory driver liability insurance, as the insurer last reported it."""

    VALID = "valid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"



class Base(DeclarativeBase):
    """Declarative base of the vehicle registry's tables."""


class Vehicle(Base):
    """A vehicle registered by the Road Transport Development Centre."""

    __tablename__ = "vehicle"

    id: Mapped[int] = mapped_column(primary_key=True)
    plate_number: Mapped[str] = mapped_column(String(7), unique=True)
    vin: Mapped[str] = mapped_column(String(17), unique=True)
    make: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(64))
    year: Mapped[int]
    owner_register_number: Mapped[str] = mapped_column(String(10), index=True)
    registration_date: Mapped[date]
    inspection_status: Mapped[InspectionStatus] = mapped_column(wire_enum(InspectionStatus))
    inspection_date: Mapped[date]
    insurance_status: Mapped[InsuranceStatus] = mapped_column(wire_enum(InsuranceStatus))
    insurance_valid_until: Mapped[date]

    @validates("plate_number")
    def _plate_number(self, _: str, value: str) -> str:
        if not is_plate_number(value):  # a bug in whoever writes rows, not a client's mistake
            raise ValueError(f"{value!r} is not a plate number with a known region code")
        return value

    @validates("vin")
    def _vin(self, _: str, value: str) -> str:
        return check_vin(value)

    @validates("owner_register_number")
    def _owner(self, _: str, value: str) -> str:
        if not is_register_number(value):
            raise ValueError(f"{value!r} is not a register number")
        return value


def count_vehicles(session: Session) -> int:
    """Number of registered vehicles (0 means the registry still needs its seed data)."""
    return session.scalar(select(func.count()).select_from(Vehicle)) or 0


def find_by_plate(session: Session, plate_number: str) -> Vehicle | None:
    """The vehicle with `plate_number`, if registered."""
    return session.scalars(
        select(Vehicle).where(Vehicle.plate_number == plate_number)
    ).one_or_none()


def find_by_owner(session: Session, register_number: str) -> Sequence[Vehicle]:
    """The owner's vehicles, earliest registered first."""
    return session.scalars(
        select(Vehicle)
        .where(Vehicle.owner_register_number == register_number)
        .order_by(Vehicle.registration_date, Vehicle.id)
    ).all()
