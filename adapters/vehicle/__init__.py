"""Vehicle registry of the Road Transport Development Centre (`MN/GOV/RTDC/vehicle-registry`).

Services `getVehiclesByOwner` and `getVehicleByPlate` over X-Road SOAP (`POST /soap`), and
`vehicles` over REST (`GET /vehicles?owner={registerNumber}` and `/vehicles/{plateNumber}`).
"""

from adapters.vehicle.app import create_app, run
from adapters.vehicle.settings import VehicleRegistrySettings

__all__ = ["VehicleRegistrySettings", "create_app", "run"]
