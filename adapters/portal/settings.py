"""Settings of the citizen portal, read from `XROAD_PORTAL_*` variables by the caller.

The registries' service ids are settings, not constants: another instance's demo (or a test)
points the portal at its own registries, or at a service the bus cannot serve, without code.
"""

from enum import StrEnum
from typing import Final

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from xroad.errors import InvalidMessage
from xroad.identifiers import ClientId, ServiceId

DEFAULT_PURPOSE: Final = "citizen portal: the citizen's own profile"


class Registry(StrEnum):
    """The four registries a profile is composed of; the values are the JSON keys of
    `request_ids`, `status` and `errors`."""

    CIVIL = "civil"
    LAND = "land"
    VEHICLE = "vehicle"
    TAX = "tax"


class PortalSettings(BaseSettings):
    """Passed to `create_app`; never read at import time, so tests can run several portals.

    Per-registry timeouts are JSON in the environment, e.g.
    `XROAD_PORTAL_TIMEOUTS_S='{"tax": 0.5}'`; registries it does not name use `timeout_s`.
    """

    model_config = SettingsConfigDict(env_prefix="XROAD_PORTAL_", frozen=True, extra="forbid")

    # The consumer security server's client_url (MN/GOV/EMONGOLIA/ss1 in the demo).
    security_server_url: str = "http://127.0.0.1:8080"
    client: str = "MN/GOV/EMONGOLIA/portal"  # sent as X-Road-Client
    purpose: str = Field(default=DEFAULT_PURPOSE, min_length=1, max_length=255)  # X-Road-Issue
    timeout_s: float = Field(default=3.0, gt=0, le=120)  # per registry call, end to end
    timeouts_s: dict[Registry, float] = Field(default_factory=dict)
    civil_service: str = "MN/GOV/GASR/civil-registry/persons"  # GET .../{registerNumber}
    land_service: str = "MN/GOV/ALAMGAC/land-registry/parcels"  # GET ...?owner=
    vehicle_service: str = "MN/GOV/RTDC/vehicle-registry/vehicles"  # GET ...?owner=
    tax_service: str = "MN/GOV/MTA/tax-registry/tax-status"  # GET .../{registerNumber}

    @field_validator("client")
    @classmethod
    def _client_identifier(cls, value: str) -> str:
        """A malformed client id fails at start rather than on every request."""
        try:
            return str(ClientId.parse(value))
        except InvalidMessage as e:
            raise ValueError(str(e)) from e

    @field_validator("civil_service", "land_service", "vehicle_service", "tax_service")
    @classmethod
    def _service_identifier(cls, value: str) -> str:
        try:
            return str(ServiceId.parse(value))
        except InvalidMessage as e:
            raise ValueError(str(e)) from e

    @field_validator("timeouts_s")
    @classmethod
    def _positive_timeouts(cls, value: dict[Registry, float]) -> dict[Registry, float]:
        if any(not 0 < seconds <= 120 for seconds in value.values()):
            raise ValueError("each timeout must be more than 0 and at most 120 seconds")
        return value

    def service(self, registry: Registry) -> ServiceId:
        """The REST service the portal calls for `registry`."""
        return ServiceId.parse(getattr(self, f"{registry.value}_service"))

    def timeout(self, registry: Registry) -> float:
        """How long the portal waits for `registry` before showing the rest without it."""
        return self.timeouts_s.get(registry, self.timeout_s)
