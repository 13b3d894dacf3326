"""Civil registry of the General Authority for State Registration (`MN/GOV/GASR/civil-registry`).

Services `getPerson` and `getFamily` over X-Road SOAP (`POST /soap`), and `persons` over REST
(`GET /persons/{registerNumber}` and `/persons/{registerNumber}/family`); what each client
receives of a person is set per client and purpose (`adapters.civil.disclosure`).
"""

from adapters.civil.app import create_app
from adapters.civil.settings import CivilRegistrySettings

__all__ = ["CivilRegistrySettings", "create_app"]
