"""Data minimisation: which taxpayer fields each client subsystem receives.

A registry that answers "is this person's property tax paid?" need not learn their arrears
or filing history. The policy maps a client (a subsystem, or a whole member) to the fields
it is given; a client the policy does not name gets every field, so that adding the policy
never breaks an existing consumer. The identifier a client asked with is always returned: it
tells the client nothing new and lets it match the answer to its question.

The security server has already authenticated the client and checked its access right; the
adapter is reachable only from it, so the client identifier it passes on is trusted here.
"""

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from adapters.toolkit.clients import rule_for
from xroad.identifiers import ClientId


class TaxField(StrEnum):
    """A field of the tax registry's answers; the values are the REST (snake_case) names."""

    REGISTER_NUMBER = "register_number"
    TIN = "tin"
    REGISTERED_SINCE = "registered_since"
    STATUS = "status"
    ARREARS_MNT = "arrears_mnt"
    TAX_YEAR = "tax_year"
    PROPERTY_TAX_DUE_MNT = "property_tax_due_mnt"
    PROPERTY_TAX_PAID = "property_tax_paid"
    VEHICLE_TAX_DUE_MNT = "vehicle_tax_due_mnt"
    VEHICLE_TAX_PAID = "vehicle_tax_paid"
    LAST_FILING_DATE = "last_filing_date"
    LAST_FILING_PERIOD = "last_filing_period"


ALL_FIELDS: Final = frozenset(TaxField)

FieldsByClient = Mapping[str, frozenset[TaxField]]

# The demo instance: the land and vehicle registries learn only whether "their" tax is paid.
DEMO_FIELDS_BY_CLIENT: Final[FieldsByClient] = MappingProxyType(
    {
        "MN/GOV/ALAMGAC/land-registry": frozenset({TaxField.TAX_YEAR, TaxField.PROPERTY_TAX_PAID}),
        "MN/GOV/RTDC/vehicle-registry": frozenset({TaxField.TAX_YEAR, TaxField.VEHICLE_TAX_PAID}),
    }
)


def disclosed_fields(policy: FieldsByClient, client: ClientId | None) -> frozenset[TaxField]:
    """The fields `client` may receive: its subsystem's entry, else its member's, else all."""
    allowed = None if client is None else rule_for(policy, client)
    return ALL_FIELDS if allowed is None else allowed
