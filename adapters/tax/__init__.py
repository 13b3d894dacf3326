"""Tax registry of the Mongolian Tax Administration (`MN/GOV/MTA/tax-registry`).

Services `getTaxStatus` (registerNumber) and `getTaxpayer` (tin) over X-Road SOAP
(`POST /soap`), and `tax-status` and `taxpayers` over REST (`GET /tax-status/{registerNumber}`,
`GET /taxpayers/{tin}`). Each client subsystem receives only the fields configured for it.
"""

from adapters.tax.app import create_app, run
from adapters.tax.settings import TaxRegistrySettings

__all__ = ["TaxRegistrySettings", "create_app", "run"]
