"""The tax registry's own database: taxpayers and this year's property and vehicle tax.

The registry, not the bus, owns this data; the adapter reads it and nothing in `xroad/`
imports it. Amounts are whole tögrög (MNT) in integer columns: money is never a float.
A tax "paid" flag means the year's assessed amount is settled, so it is true when nothing
was due.
"""

from datetime import date
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Enum,
    String,
    func,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class TaxpayerStatus(StrEnum):
    """Whether the taxpayer's registration is in force; the values are the wire strings."""

    ACTIVE = "active"
    SUSPENDED = "suspended"


class Base(DeclarativeBase):
    """Declarative base of the tax registry's tables."""


class Taxpayer(Base):
    """An individual registered with the Mongolian Tax Administration.

    `last_filing_period` is the period of the last return filed: a year (`2024`, the annual
    personal income tax return) or a quarter (`2025-Q1`); both are None if none was filed.
    """

    __tablename__ = "taxpayer"
    __table_args__ = (
        CheckConstraint("arrears_mnt >= 0", name="arrears_not_negative"),
        CheckConstraint("property_tax_due_mnt >= 0", name="property_tax_not_negative"),
        CheckConstraint("vehicle_tax_due_mnt >= 0", name="vehicle_tax_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tin: Mapped[str] = mapped_column(String(12), unique=True)
    register_number: Mapped[str] = mapped_column(String(10), unique=True)
    registered_since: Mapped[date]
    status: Mapped[TaxpayerStatus] = mapped_column(
        Enum(
            TaxpayerStatus,
            native_enum=False,
            length=16,
            values_callable=lambda members: [member.value for member in members],
        )
    )
    arrears_mnt: Mapped[int] = mapped_column(BigInteger)
    tax_year: Mapped[int]
    property_tax_due_mnt: Mapped[int] = mapped_column(BigInteger)
    property_tax_paid: Mapped[bool]
    vehicle_tax_due_mnt: Mapped[int] = mapped_column(BigInteger)
    vehicle_tax_paid: Mapped[bool]
    last_filing_date: Mapped[date | None]
    last_filing_period: Mapped[str | None] = mapped_column(String(7))


def count_taxpayers(session: Session) -> int:
    """Number of registered taxpayers (0 means the registry still needs its seed data)."""
    return session.scalar(select(func.count()).select_from(Taxpayer)) or 0


def find_by_register_number(session: Session, register_number: str) -> Taxpayer | None:
    """The taxpayer who is the person with `register_number`, if registered."""
    return session.scalars(
        select(Taxpayer).where(Taxpayer.register_number == register_number)
    ).one_or_none()


def find_by_tin(session: Session, tin: str) -> Taxpayer | None:
    """The taxpayer with `tin`, if registered."""
    return session.scalars(select(Taxpayer).where(Taxpayer.tin == tin)).one_or_none()
