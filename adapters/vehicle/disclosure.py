"""Data minimisation: which fields of a vehicle each client subsystem receives.

The registry answers every client from the same records but discloses, per client, only the
fields its task needs (e.g. the tax administration needs make, year and owner for the
vehicle tax, not the VIN or the insurance). The plate number is always disclosed: it names
the record. A client without a rule receives every field; a rule for a member applies to
all its subsystems unless the subsystem has its own.

The client is the one the security server verified: the `X-Road-Client` header for REST and
the `client` SOAP header, both set by the provider's security server.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from adapters.toolkit.clients import rule_for
from adapters.toolkit.errors import InvalidRequest
from xroad.errors import XRoadError
from xroad.identifiers import ClientId


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


class InvalidClient(InvalidRequest):
    """The client identifier the security server passed on cannot be read."""

    code = "InvalidClient"


@dataclass(frozen=True, slots=True)
class FieldPolicy:
    """Client (subsystem or member) -> the fields it may receive."""

    rules: Mapping[ClientId, frozenset[VehicleField]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    @classmethod
    def from_settings(cls, rules: Mapping[str, frozenset[VehicleField]]) -> "FieldPolicy":
        """From `{"MN/GOV/MTA/tax-registry": {...}}`; raises `ValueError` on a bad client id."""
        try:
            parsed = {ClientId.parse(client): fields for client, fields in rules.items()}
        except XRoadError as e:
            raise ValueError(str(e)) from e
        return cls(MappingProxyType(parsed))

    def fields_for(self, client: ClientId | None) -> frozenset[VehicleField]:
        """What `client` receives; every field when no rule names it (or it is unknown)."""
        allowed = None if client is None else rule_for(self.rules, client)
        if allowed is None:
            return ALL_FIELDS
        return allowed | {VehicleField.PLATE_NUMBER}
