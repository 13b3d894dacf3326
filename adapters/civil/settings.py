"""Settings of the civil registry adapter, read from `XROAD_CIVIL_*` variables by the caller."""

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from adapters.civil.disclosure import DEMO_RULES, DisclosureRule
from adapters.toolkit.settings import RegistrySettings


class CivilRegistrySettings(RegistrySettings):
    """Passed to `create_app`; never read at import time, so tests can run several apps."""

    model_config = SettingsConfigDict(env_prefix="XROAD_CIVIL_", frozen=True, extra="forbid")

    # Data minimisation (adapters/civil/disclosure.py): a TOML file of `[[rule]]` tables, then
    # rules given directly (JSON in XROAD_CIVIL_DISCLOSURE_RULES; the default is the demo's:
    # no family relations nor birth place for MN/GOV/MTA/tax-registry). Two rules for one
    # client and purpose are refused at start: set the variable to `[]` to replace the demo's.
    disclosure_file: Path | None = None
    disclosure_rules: tuple[DisclosureRule, ...] = DEMO_RULES
