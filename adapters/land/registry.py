"""The land registry's own database: parcels and their owners' shares.

The registry, not the bus, owns this data; the adapter reads it and nothing in `xroad/`
imports it. Owners are referred to by register number only: who they are is the civil
registry's data, asked for (and logged) there.
"""

from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from fractions import Fraction

from sqlalchemy import Enum, ForeignKey, String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship


class LandUse(StrEnum):
    """What the parcel may be used for; the values are the wire strings."""

    RESIDENTIAL = "residential"  # гэр бүлийн хэрэгцээний газар
    AGRICULTURAL = "agricultural"  # тариалангийн газар
    COMMERCIAL = "commercial"  # худалдаа, үйлчилгээний газар
    PASTURE = "pasture"  # бэлчээр, өвөлжөө


class Base(DeclarativeBase):
    """Declarative base of the land registry's tables."""


class Parcel(Base):
    """A land parcel (нэгж талбар) and the certificate that grants the right to it.

    `valid_until` is None for ownership, which does not expire; possession and use rights
    are granted for a term.
    """

    __tablename__ = "parcel"

    id: Mapped[int] = mapped_column(primary_key=True)
    parcel_id: Mapped[str] = mapped_column(String(10), unique=True)
    aimag: Mapped[str] = mapped_column(String(64))
    soum: Mapped[str] = mapped_column(String(64))
    area_m2: Mapped[int]
    land_use: Mapped[LandUse] = mapped_column(
        Enum(LandUse, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    certificate_number: Mapped[str] = mapped_column(String(16), unique=True)
    valid_from: Mapped[date]
    valid_until: Mapped[date | None]
    owners: Mapped[list["Ownership"]] = relationship(
        order_by="Ownership.register_number", lazy="selectin"
    )


class Ownership(Base):
    """One owner's share of a parcel; the shares of a parcel add up to one."""

    __tablename__ = "ownership"

    parcel_pk: Mapped[int] = mapped_column(ForeignKey("parcel.id"), primary_key=True)
    register_number: Mapped[str] = mapped_column(String(10), primary_key=True, index=True)
    share_numerator: Mapped[int]
    share_denominator: Mapped[int]

    @property
    def share(self) -> Fraction:
        """The owner's share, e.g. `Fraction(1, 2)` for one of two spouses."""
        return Fraction(self.share_numerator, self.share_denominator)


def count_parcels(session: Session) -> int:
    """Number of registered parcels (0 means the registry still needs its seed data)."""
    return session.scalar(select(func.count()).select_from(Parcel)) or 0


def find_parcel(session: Session, parcel_id: str) -> Parcel | None:
    """The parcel with `parcel_id`, with its owners, if registered."""
    return session.scalars(select(Parcel).where(Parcel.parcel_id == parcel_id)).one_or_none()


def parcels_of(session: Session, register_number: str) -> Sequence[Parcel]:
    """The parcels `register_number` owns alone or with others, by parcel id."""
    owned = select(Ownership.parcel_pk).where(Ownership.register_number == register_number)
    return session.scalars(
        select(Parcel).where(Parcel.id.in_(owned)).order_by(Parcel.parcel_id)
    ).all()
