"""Data minimisation: which fields of a vehicle each client subsystem receives.

The registry answers every client from the same records but discloses, per client, only the
fields its task needs (e.g. the tax administration needs make, year and owner for the
vehicle tax, not the VIN or the insurance). The plate number is always disclosed: it names
the record. A client without a rule receives every field; a rule for a member applies to
all its subsystems unless the subsystem has its own.

The client is the one the security server verified: the `X-Road-Client` header for REST and
the `client` SOAP header, both set by the provider's security server.
"""

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Final

from adapters.toolkit import disclosure


class VehicleField(StrEnum):
    """A disclosable field; values are the REST (snake_case) names."""

    PLATE_NUMBER = "plate_number"
    VIN = "vin"
    MAKE = "make"
    MODEL = "model"
    YEAR = "year"
    OWNER_REGISTER_NUMBER = "owner_register_number"
    REGISTRATION_DATE = "registration_date"
    INSPECTION = "inspection"
    INSURANCE = "insurance"


ALL_FIELDS: Final = frozenset(VehicleField)

VehicleRule = disclosure.DisclosureRule[VehicleField]


class FieldPolicy(disclosure.DisclosurePolicy[VehicleField]):
    """The toolkit's policy over vehicle fields; the plate number is always disclosed."""

    def __init__(self, rules: Iterable[VehicleRule] = ()) -> None:
        super().__init__(ALL_FIELDS, rules, always=frozenset({VehicleField.PLATE_NUMBER}))

    @classmethod
    def from_settings(cls, rules: Mapping[str, Iterable[VehicleField]]) -> "FieldPolicy":
        """From `{"MN/GOV/MTA/tax-registry": {...}}`; raises `ValueError` on a bad client id."""
        return cls(disclosure.rules_by_client(VehicleRule, rules))
