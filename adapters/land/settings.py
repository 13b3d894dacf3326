"""Settings of the land registry adapter, read from `XROAD_LAND_*` variables by the caller."""

from pathlib import Path
from typing import Final

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from adapters.land.disclosure import DisclosureRule

MIB: Final = 1024 * 1024


class LandRegistrySettings(BaseSettings):
    """Passed to `create_app`; never read at import time, so tests can run several apps."""

    model_config = SettingsConfigDict(env_prefix="XROAD_LAND_", frozen=True, extra="forbid")

    database_url: str  # e.g. "sqlite:///var/adapters/land.db"; a SQLite parent dir is created
    max_soap_bytes: int = Field(default=MIB, gt=0)  # larger SOAP requests get a Client fault
    # Data minimisation (see adapters/land/disclosure.py): a TOML file of `[[rule]]` tables,
    # and/or rules given directly (JSON in XROAD_LAND_DISCLOSURE_RULES). None: all fields.
    disclosure_file: Path | None = None
    disclosure_rules: tuple[DisclosureRule, ...] = ()
