"""Data minimisation: which parcel fields each client subsystem receives, for which purpose.

The security server has already checked that the client may call the service at all; this
decides how much of each parcel it sees. A rule names a client (`MN/GOV/MTA/tax-registry`),
optionally a purpose (the X-Road `issue` the client states, exactly), and the fields it
receives. A rule for the client and its stated purpose wins over the client's general rule;
clients without a rule receive every field. The parcel id is always disclosed: it is what a
client asks by. Rules are data, e.g. `adapters/land/disclosure.example.toml`:

```toml
[[rule]]
client = "MN/GOV/MTA/tax-registry"
fields = ["location", "area", "land_use", "owners"]     # no shares, certificates, validity
```
"""

import tomllib
from collections.abc import Iterable, Mapping
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Final

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from xroad.errors import InvalidClientIdentifier
from xroad.identifiers import ClientId


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


class DisclosureRule(BaseModel):
    """The fields `client` receives, for any purpose or only for `purpose`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    client: str
    purpose: str | None = None
    fields: frozenset[ParcelField]

    @field_validator("client")
    @classmethod
    def _client_identifier(cls, value: str) -> str:
        try:
            return str(ClientId.parse(value))
        except InvalidClientIdentifier as e:
            raise ValueError(str(e)) from e


class DisclosurePolicy:
    """Rules by (client, purpose); immutable once built."""

    def __init__(self, rules: Iterable[DisclosureRule] = ()) -> None:
        table: dict[tuple[str, str | None], frozenset[ParcelField]] = {}
        for rule in rules:
            key = (rule.client, rule.purpose)
            if key in table:
                raise ValueError(f"two disclosure rules for {rule.client} ({rule.purpose})")
            table[key] = rule.fields
        self._rules: Final[Mapping[tuple[str, str | None], frozenset[ParcelField]]] = (
            MappingProxyType(table)
        )

    def fields_for(self, client: str | None, purpose: str | None) -> frozenset[ParcelField]:
        """The fields `client` receives when asking for `purpose`; all for unlisted clients."""
        if client is None:
            return ALL_FIELDS
        if purpose is not None and (client, purpose) in self._rules:
            return self._rules[client, purpose]
        return self._rules.get((client, None), ALL_FIELDS)


def load_rules(path: Path) -> tuple[DisclosureRule, ...]:
    """The `[[rule]]` tables of a TOML file; `ValueError` naming the file if malformed."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        return tuple(DisclosureRule.model_validate(rule) for rule in document.get("rule", []))
    except (OSError, tomllib.TOMLDecodeError, ValidationError, TypeError) as e:
        raise ValueError(f"{path}: not a disclosure rule file: {e}") from e
