"""Data minimisation: which fields of its answers a registry discloses to each client.

The security server has already checked that the client may call the service at all; this
decides how much of each record it sees. A rule names a client (a subsystem such as
`MN/GOV/MTA/tax-registry`, or a whole member `MN/GOV/MTA`), optionally a purpose (the X-Road
`issue` the client states, exactly), and the fields it receives. The lookup, most specific
first: the subsystem for the stated purpose, the subsystem, the member for the purpose, the
member. Clients without a rule (and calls without the bus) receive every field, so adding a
policy never breaks an existing consumer. Each registry names its fields in a `StrEnum` and
always discloses the key the client asked by. Rules are data, e.g. a TOML file:

```toml
[[rule]]
client = "MN/GOV/MTA/tax-registry"
fields = ["name", "birth_date", "address", "status"]
```
"""

import tomllib
from collections.abc import Iterable, Mapping
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Final, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from xroad.errors import InvalidClientIdentifier
from xroad.identifiers import ClientId

F = TypeVar("F", bound=StrEnum)
_Key = tuple[str, str | None]


class DisclosureRule(BaseModel, Generic[F]):
    """The fields `client` receives, for any purpose or only for `purpose`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    client: str
    purpose: str | None = None
    fields: frozenset[F]

    @field_validator("client")
    @classmethod
    def _client_identifier(cls, value: str) -> str:
        """A typo in a client fails at start rather than silently never matching."""
        try:
            return str(ClientId.parse(value))
        except InvalidClientIdentifier as e:
            raise ValueError(str(e)) from e


class DisclosurePolicy(Generic[F]):
    """Rules by (client, purpose) over a registry's fields; immutable once built."""

    def __init__(
        self,
        every_field: frozenset[F],
        rules: Iterable[DisclosureRule[F]] = (),
        *,
        always: frozenset[F] = frozenset(),
    ) -> None:
        table: dict[_Key, frozenset[F]] = {}
        for rule in rules:
            key = (rule.client, rule.purpose)
            if key in table:
                raise ValueError(f"two disclosure rules for {rule.client} ({rule.purpose})")
            table[key] = rule.fields
        self.every_field: Final = every_field
        self._always: Final = always
        self._rules: Final[Mapping[_Key, frozenset[F]]] = MappingProxyType(table)

    def fields_for(self, client: ClientId | str | None, purpose: str | None = None) -> frozenset[F]:
        """The fields `client` receives when asking for `purpose`; all for unlisted clients."""
        if client is None:
            return self.every_field
        parsed = client if isinstance(client, ClientId) else ClientId.parse(client)
        for name in (str(parsed), str(parsed.member)):
            for key in ((name, purpose), (name, None)) if purpose is not None else ((name, None),):
                if key in self._rules:
                    return self._rules[key] | self._always
        return self.every_field


def rules_by_client(
    rule_type: type[DisclosureRule[F]], fields_by_client: Mapping[str, Iterable[F]]
) -> tuple[DisclosureRule[F], ...]:
    """Rules from the `{"MN/GOV/MTA/tax-registry": [...]}` form settings use for any purpose."""
    return tuple(
        rule_type(client=client, fields=frozenset(fields))
        for client, fields in fields_by_client.items()
    )


def load_rules(rule_type: type[DisclosureRule[F]], path: Path) -> tuple[DisclosureRule[F], ...]:
    """The `[[rule]]` tables of a TOML file; `ValueError` naming the file if malformed."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        return tuple(rule_type.model_validate(rule) for rule in document.get("rule", []))
    except (OSError, tomllib.TOMLDecodeError, ValidationError, TypeError) as e:
        raise ValueError(f"{path}: not a disclosure rule file: {e}") from e


def configured_rules(
    rule_type: type[DisclosureRule[F]], path: Path | None, rules: Iterable[DisclosureRule[F]]
) -> tuple[DisclosureRule[F], ...]:
    """A registry's settings: the rules of its file (if any), then those given directly."""
    return (*(load_rules(rule_type, path) if path is not None else ()), *rules)
