"""Settings of the vehicle registry adapter, read from `XROAD_VEHICLE_*` variables by the caller.

`client_fields` is the data minimisation table, as JSON in the environment, e.g.
`XROAD_VEHICLE_CLIENT_FIELDS='{"MN/GOV/MTA/tax-registry": ["make", "model", "year",
"owner_register_number", "registration_date"]}'`; clients it does not name get every field.
"""

from collections.abc import Mapping

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from adapters.toolkit.settings import RegistrySettings
from adapters.vehicle.disclosure import FieldPolicy, VehicleField


class VehicleRegistrySettings(RegistrySettings):
    """Passed to `create_app`; never read at import time, so tests can run several apps."""

    model_config = SettingsConfigDict(env_prefix="XROAD_VEHICLE_", frozen=True, extra="forbid")

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
