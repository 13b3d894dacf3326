"""The e-Mongolia citizen portal (`MN/GOV/EMONGOLIA/portal`): an X-Road client application.

For a register number it asks the civil, land, vehicle and tax registries through its
security server (REST r1, concurrently, with the purpose stated) and composes a profile:
`GET /api/profile/{registerNumber}` (JSON) and `GET /profile/{registerNumber}` (HTML).
"""

from adapters.portal.app import create_app
from adapters.portal.settings import PortalSettings

__all__ = ["PortalSettings", "create_app"]
