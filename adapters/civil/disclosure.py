"""Data minimisation: which parts of a person each client subsystem receives.

The civil registry answers every client from the same records, but a client receives only
what its task needs: the tax administration identifies and addresses taxpayers, so it gets
names, birth date and address, but neither family relations nor birth place. The register
number is always disclosed: it is what the client asked by. The rules, their lookup
(subsystem before member, stated purpose before any purpose) and their file format are the
toolkit's (`adapters.toolkit.disclosure`); clients without a rule receive every field.
"""

from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Final

from adapters.toolkit import disclosure


class PersonField(StrEnum):
    """A part of a person that can be withheld; the values are the configured names."""

    NAME = "name"  # family name (ovog) and given name
    CLAN_NAME = "clan_name"
    SEX = "sex"
    BIRTH_DATE = "birth_date"
    BIRTH_PLACE = "birth_place"
    CITIZENSHIP = "citizenship"
    ADDRESS = "address"
    STATUS = "status"  # alive or deceased
    FAMILY = "family"  # spouses, parents and children (`getFamily`, `persons/{n}/family`)


ALL_FIELDS: Final = frozenset(PersonField)

DisclosureRule = disclosure.DisclosureRule[PersonField]

TAX_REGISTRY: Final = "MN/GOV/MTA/tax-registry"
DEMO_RULES: Final = (
    DisclosureRule(
        client=TAX_REGISTRY,
        fields=ALL_FIELDS - {PersonField.FAMILY, PersonField.BIRTH_PLACE},
    ),
)
"""The demo instance: the tax administration learns who a taxpayer is and where they live."""


class DisclosurePolicy(disclosure.DisclosurePolicy[PersonField]):
    """The toolkit's policy over the parts of a person."""

    def __init__(self, rules: Iterable[DisclosureRule] = ()) -> None:
        super().__init__(ALL_FIELDS, rules)


def load_rules(path: Path) -> tuple[DisclosureRule, ...]:
    """The `[[rule]]` tables of a TOML file; `ValueError` naming the file if malformed."""
    return disclosure.load_rules(DisclosureRule, path)
