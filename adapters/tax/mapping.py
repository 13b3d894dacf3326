"""Registry rows to X-Road payloads: REST JSON (the OpenAPI shapes) and SOAP elements.

Both protocols are built from one pydantic model holding only the fields the client may see
(`disclosure`), so SOAP and REST never disagree on what was disclosed. A field left out is
absent from the JSON object and from the XML element; a disclosed field with no value (a
taxpayer who never filed a return) is JSON `null` and an absent XML element. The XML shapes
are those of `schemas/tax/tax-registry.wsdl`, in the models' field order; a test validates them.
"""

from datetime import date
from typing import Final

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field

from adapters.tax.disclosure import TaxField
from adapters.tax.registry import Taxpayer, TaxpayerStatus
from adapters.toolkit.payload import append_model

NAMESPACE: Final = "http://tax.gov.mn/xroad"
PREFIX: Final = "tax"

_MNT = "whole Mongolian tögrög (MNT)"


class TaxStatus(BaseModel):
    """Answer of `getTaxStatus` and `tax-status`: what the person owes this year.

    Fields other than `register_number` are present only if disclosed to the client.
    """

    model_config = ConfigDict(frozen=True)

    register_number: str
    tin: str | None = None
    status: TaxpayerStatus | None = None
    arrears_mnt: int | None = Field(default=None, ge=0, description=f"overdue tax, {_MNT}")
    tax_year: int | None = None
    property_tax_due_mnt: int | None = Field(default=None, ge=0, description=_MNT)
    property_tax_paid: bool | None = Field(default=None, description="true if nothing is owed")
    vehicle_tax_due_mnt: int | None = Field(default=None, ge=0, description=_MNT)
    vehicle_tax_paid: bool | None = Field(default=None, description="true if nothing is owed")
    last_filing_date: date | None = None
    last_filing_period: str | None = Field(default=None, examples=["2024", "2025-Q1"])


class TaxpayerRecord(BaseModel):
    """Answer of `getTaxpayer` and `taxpayers`: the taxpayer's registration.

    Fields other than `tin` are present only if disclosed to the client.
    """

    model_config = ConfigDict(frozen=True)

    tin: str
    register_number: str | None = None
    registered_since: date | None = None
    status: TaxpayerStatus | None = None
    last_filing_date: date | None = None
    last_filing_period: str | None = Field(default=None, examples=["2024", "2025-Q1"])


def _disclosed(
    taxpayer: Taxpayer, model: type[BaseModel], key: TaxField, fields: frozenset[TaxField]
) -> dict[str, object]:
    """The model's values for `taxpayer`, limited to `fields` plus the key asked with."""
    return {
        name: getattr(taxpayer, name)
        for name in model.model_fields
        if name == key or TaxField(name) in fields
    }


def tax_status(taxpayer: Taxpayer, fields: frozenset[TaxField]) -> TaxStatus:
    """The tax status of `taxpayer` as `fields` allow."""
    return TaxStatus.model_validate(
        _disclosed(taxpayer, TaxStatus, TaxField.REGISTER_NUMBER, fields)
    )


def taxpayer_record(taxpayer: Taxpayer, fields: frozenset[TaxField]) -> TaxpayerRecord:
    """The registration of `taxpayer` as `fields` allow."""
    return TaxpayerRecord.model_validate(_disclosed(taxpayer, TaxpayerRecord, TaxField.TIN, fields))


def append_record(wrapper: etree._Element, name: str, record: BaseModel) -> None:
    """Add `<{name}>` with the record's disclosed, non-empty fields, in schema order."""
    append_model(wrapper, NAMESPACE, name, record)
