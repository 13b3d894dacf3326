"""Settings of the tax registry adapter, read from `XROAD_TAX_*` variables by the caller."""


from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from adapters.tax.disclosure import DEMO_FIELDS_BY_CLIENT, TaxField
from adapters.toolkit.settings import RegistrySettings
from xroad.errors import InvalidClientIdentifier
from xroad.identifiers import ClientId


class TaxRegistrySettings(RegistrySettings):
    """Passed to `create_app`; never read at import time, so tests can run several apps.

    `fields_by_client` is JSON in the environment, e.g.
    `XROAD_TAX_FIELDS_BY_CLIENT='{"MN/GOV/ALAMGAC/land-registry": ["property_tax_paid"]}'`;
    clients it does not name receive every field.
    """

    model_config = SettingsConfigDict(env_prefix="XROAD_TAX_", frozen=True, extra="forbid")

    fields_by_client: dict[str, frozenset[TaxField]] = Field(
        default_factory=lambda: dict(DEMO_FIELDS_BY_CLIENT)
    )

    @field_validator("fields_by_client")
    @classmethod
    def _clients_are_identifiers(
        cls, value: dict[str, frozenset[TaxField]]
    ) -> dict[str, frozenset[TaxField]]:
        """A malformed client fails at start rather than silently never matching."""
        try:
            return {str(ClientId.parse(client)): fields for client, fields in value.items()}
        except InvalidClientIdentifier as e:
            raise ValueError(str(e)) from e
