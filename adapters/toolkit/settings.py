"""What every registry adapter's settings hold; each registry adds its own and its prefix.

Settings are read from the environment by the caller (`from_environment`), never at import
time, so tests can run several registries in one process.
"""

from typing import Final

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB: Final = 1024 * 1024


class RegistrySettings(BaseSettings):
    """A registry's database and SOAP size limit; subclasses set `env_prefix`."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid")

    database_url: str  # e.g. "sqlite:///var/adapters/civil.db"; a SQLite parent dir is created
    max_soap_bytes: int = Field(default=MIB, gt=0)  # larger SOAP requests get a Client fault
