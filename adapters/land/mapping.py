"""Registry rows to X-Road payloads: REST JSON (the OpenAPI shapes) and SOAP elements.

The JSON models and the XML elements carry the same fields under the same names (snake_case
in JSON, camelCase in XML), so a client sees one parcel either way. Both are built for a set
of `ParcelField`s: a withheld field is absent (never null), so a client cannot tell it from a
field the registry does not have. The XML shapes are those of `schemas/land/land-registry.wsdl`;
a test validates them.
"""

from collections.abc import Sequence
from datetime import date
from typing import Final

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field

from adapters.land.disclosure import ParcelField
from adapters.land.registry import LandUse, Ownership, Parcel

NAMESPACE: Final = "http://land.gov.mn/xroad"
PREFIX: Final = "land"
_WITHHELD: Final = "absent when withheld from this client (data minimisation)"


class Location(BaseModel):
    """Aimag or the capital, and soum or district."""

    model_config = ConfigDict(frozen=True)

    aimag: str
    soum: str


class Owner(BaseModel):
    """An owner by register number; who they are is the civil registry's answer."""

    model_config = ConfigDict(frozen=True)

    register_number: str
    share: str | None = Field(default=None, pattern=r"^[1-9][0-9]*/[1-9][0-9]*$",
                              description=f"e.g. 1/2; {_WITHHELD}")


class Validity(BaseModel):
    """The term of the right; ownership has no end (`valid_until` null)."""

    model_config = ConfigDict(frozen=True)

    valid_from: date
    valid_until: date | None


class ParcelRecord(BaseModel):
    """A parcel as the REST service `parcels` returns it."""

    model_config = ConfigDict(frozen=True)

    parcel_id: str
    location: Location | None = Field(default=None, description=_WITHHELD)
    area_m2: int | None = Field(default=None, description=_WITHHELD)
    land_use: LandUse | None = Field(default=None, description=_WITHHELD)
    certificate_number: str | None = Field(default=None, description=_WITHHELD)
    owners: list[Owner] | None = Field(default=None, description=_WITHHELD)
    validity: Validity | None = Field(default=None, description=_WITHHELD)


class OwnerParcels(BaseModel):
    """The answer of `parcels?owner={registerNumber}`: possibly no parcels at all."""

    model_config = ConfigDict(frozen=True)

    register_number: str
    parcels: list[ParcelRecord]


def _share(ownership: Ownership) -> str:
    return f"{ownership.share_numerator}/{ownership.share_denominator}"


def _owner(ownership: Ownership, fields: frozenset[ParcelField]) -> Owner:
    if ParcelField.OWNER_SHARES in fields:
        return Owner(register_number=ownership.register_number, share=_share(ownership))
    return Owner(register_number=ownership.register_number)


def parcel_record(parcel: Parcel, fields: frozenset[ParcelField]) -> ParcelRecord:
    """The REST shape of `parcel`, with only `fields` set (serialize with `exclude_unset`)."""
    disclosed: dict[str, object] = {}
    if ParcelField.LOCATION in fields:
        disclosed["location"] = Location(aimag=parcel.aimag, soum=parcel.soum)
    if ParcelField.AREA in fields:
        disclosed["area_m2"] = parcel.area_m2
    if ParcelField.LAND_USE in fields:
        disclosed["land_use"] = parcel.land_use
    if ParcelField.CERTIFICATE_NUMBER in fields:
        disclosed["certificate_number"] = parcel.certificate_number
    if ParcelField.OWNERS in fields:
        disclosed["owners"] = [_owner(ownership, fields) for ownership in parcel.owners]
    if ParcelField.VALIDITY in fields:
        disclosed["validity"] = Validity(
            valid_from=parcel.valid_from, valid_until=parcel.valid_until
        )
    return ParcelRecord.model_validate({"parcel_id": parcel.parcel_id, **disclosed})


def owner_parcels(
    register_number: str, parcels: Sequence[Parcel], fields: frozenset[ParcelField]
) -> OwnerParcels:
    """The REST shape of an owner's parcels."""
    records = [parcel_record(parcel, fields) for parcel in parcels]
    return OwnerParcels(register_number=register_number, parcels=records)


def _add(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, etree.QName(NAMESPACE, name))
    child.text = text
    return child


def append_parcel(parent: etree._Element, parcel: Parcel, fields: frozenset[ParcelField]) -> None:
    """Add `<parcel>` with only `fields`, in the order of the WSDL's `Parcel` type."""
    element = _add(parent, "parcel")
    _add(element, "parcelId", parcel.parcel_id)
    if ParcelField.LOCATION in fields:
        location = _add(element, "location")
        _add(location, "aimag", parcel.aimag)
        _add(location, "soum", parcel.soum)
    if ParcelField.AREA in fields:
        _add(element, "areaM2", str(parcel.area_m2))
    if ParcelField.LAND_USE in fields:
        _add(element, "landUse", parcel.land_use.value)
    if ParcelField.CERTIFICATE_NUMBER in fields:
        _add(element, "certificateNumber", parcel.certificate_number)
    for ownership in parcel.owners if ParcelField.OWNERS in fields else ():
        owner = _add(element, "owner")
        _add(owner, "registerNumber", ownership.register_number)
        if ParcelField.OWNER_SHARES in fields:
            _add(owner, "share", _share(ownership))
    if ParcelField.VALIDITY in fields:
        validity = _add(element, "validity")
        _add(validity, "validFrom", parcel.valid_from.isoformat())
        if parcel.valid_until is not None:
            _add(validity, "validUntil", parcel.valid_until.isoformat())


def append_owner_parcels(
    wrapper: etree._Element,
    register_number: str,
    parcels: Sequence[Parcel],
    fields: frozenset[ParcelField],
) -> None:
    """Add `<parcels>` to a `getParcelsByOwnerResponse`."""
    element = _add(wrapper, "parcels")
    _add(element, "registerNumber", register_number)
    for parcel in parcels:
        append_parcel(element, parcel, fields)
