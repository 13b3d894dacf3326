"""Settings of the vehicle registry adapter, read from `XROAD_VEHICLE_*` variables by the caller.

`client_fields` is the data minimisation table, as JSON in the environment, e.g.
`XROAD_VEHICLE_CLIENT_FIELDS='{"MN/GOV/MTA/tax-registry": ["make", "model", "year",
"owner_register_number", "registration_date"]}'`; clients it does not name get every field.
"""

from collections.abc import Mapping
from typing import Final

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from adapters.vehicle.disclosure import FieldPolicy, VehicleField

MIB: Final = 1024 * 1024


class VehicleRegistrySettings(BaseSettings):
    """Passed to `create_app`; never read at import time, so tests can run several apps."""

    model_config = SettingsConfigDict(env_prefix="XROAD_VEHICLE_", frozen=True, extra="forbid")

    database_url: str  # e.g. "sqlite:///var/adapters/vehicle.db"; a SQLite parent dir is created
    max_soap_bytes: int = Field(default=MIB, gt=0)  # larger SOAP requests get a Client fault
    client_fields: Mapping[str, frozenset[VehicleField]] = Field(default_factory=dict)

    @field_validator("client_fields")
    @classmethod
    def _client_ids(
        cls, value: Mapping[str, frozenset[VehicleField]]
    ) -> Mapping[str, frozenset[VehicleField]]:
        FieldPolicy.from_settings(value)  # a typo in a client id fails at startup, not silently
        return value

    def field_policy(self) -> FieldPolicy:
        """The data minimisation rules as the services apply them."""
        return FieldPolicy.from_settings(self.client_fields)
