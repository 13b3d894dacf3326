"""Data minimisation: which parcel fields each client subsystem receives, for which purpose.

The security server has already checked that the client may call the service at all; this
decides how much of each parcel it sees. A rule names a client (`MN/GOV/MTA/tax-registry`),
optionally a purpose (the X-Road `issue` the client states, exactly), and the fields it
receives. A rule for the client and its stated purpose wins over the client's general rule,
a subsystem's rule over its member's; clients without a rule receive every field (the lookup
is the toolkit's, shared by every registry). The parcel id is always disclosed: it is what a
client asks by. Rules are data, e.g. `adapters/land/disclosure.example.toml`:

```toml
[[rule]]
client = "MN/GOV/MTA/tax-registry"
fields = ["location", "area", "land_use", "owners"]     # no shares, certificates, validity
```
"""

from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Final

from adapters.toolkit import disclosure


class ParcelField(StrEnum):
    """A part of a parcel record that can be withheld; the values are the configured names."""

    LOCATION = "location"  # aimag and soum
    AREA = "area"
    LAND_USE = "land_use"
    CERTIFICATE_NUMBER = "certificate_number"
    OWNERS = "owners"  # who owns the parcel
    OWNER_SHARES = "owner_shares"  # each owner's share; only with `owners`
    VALIDITY = "validity"  # valid from, valid until


ALL_FIELDS: Final = frozenset(ParcelField)

DisclosureRule = disclosure.DisclosureRule[ParcelField]


class DisclosurePolicy(disclosure.DisclosurePolicy[ParcelField]):
    """The toolkit's policy over parcel fields."""

    def __init__(self, rules: Iterable[DisclosureRule] = ()) -> None:
        super().__init__(ALL_FIELDS, rules)


def load_rules(path: Path) -> tuple[DisclosureRule, ...]:
    """The `[[rule]]` tables of a TOML file; `ValueError` naming the file if malformed."""
    return disclosure.load_rules(DisclosureRule, path)
