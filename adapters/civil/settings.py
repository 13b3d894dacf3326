"""Settings of the civil registry adapter, read from `XROAD_CIVIL_*` variables by the caller."""

from typing import Final

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB: Final = 1024 * 1024


class CivilRegistrySettings(BaseSettings):
    """Passed to `create_app`; never read at import time, so tests can run several apps."""

    model_config = SettingsConfigDict(env_prefix="XROAD_CIVIL_", frozen=True, extra="forbid")

    database_url: str  # e.g. "sqlite:///var/adapters/civil.db"; a SQLite parent dir is created
    max_soap_bytes: int = Field(default=MIB, gt=0)  # larger SOAP requests get a Client fault
