"""Land registry of the land administration agency (`MN/GOV/ALAMGAC/land-registry`).

Services `getParcelsByOwner` and `getParcel` over X-Road SOAP (`POST /soap`), and `parcels`
over REST (`GET /parcels?owner={registerNumber}` and `/parcels/{parcelId}`); what each client
receives of a parcel is set per client and purpose (`adapters.land.disclosure`).
"""

from adapters.land.app import create_app, run
from adapters.land.disclosure import DisclosurePolicy, DisclosureRule, ParcelField
from adapters.land.settings import LandRegistrySettings

__all__ = [
    "DisclosurePolicy",
    "DisclosureRule",
    "LandRegistrySettings",
    "ParcelField",
    "create_app",
    "run",
]
