"""Settings of the land registry adapter, read from `XROAD_LAND_*` variables by the caller."""

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from adapters.land.disclosure import DisclosureRule
from adapters.toolkit.settings import RegistrySettings


class LandRegistrySettings(RegistrySettings):
    """Passed to `create_app`; never read at import time, so tests can run several apps."""

    model_config = SettingsConfigDict(env_prefix="XROAD_LAND_", frozen=True, extra="forbid")

    # Data minimisation (see adapters/land/disclosure.py): a TOML file of `[[rule]]` tables,
    # and/or rules given directly (JSON in XROAD_LAND_DISCLOSURE_RULES). None: all fields.
    disclosure_file: Path | None = None
    disclosure_rules: tuple[DisclosureRule, ...] = ()
