"""Requests and settings shared by the civil registry adapter tests."""

from pathlib import Path

import xroad_soap
from xroad_soap import DEMO

from adapters.civil import CivilRegistrySettings

CIVIL_NS = "http://civil.gov.mn/xroad"
CIVIL = "MN/GOV/GASR/civil-registry"


def civil_settings(path: Path, **overrides: object) -> CivilRegistrySettings:
    values: dict[str, object] = {"database_url": f"sqlite:///{path}"}
    return CivilRegistrySettings.model_validate(values | overrides)


def envelope(
    service_code: str = "getPerson",
    register_number: str | None = DEMO,
    *,
    body_ns: str = CIVIL_NS,
    **options: str,
) -> bytes:
    """An X-Road SOAP 4.0 request as a client's security server forwards it."""
    content = xroad_soap.argument("registerNumber", register_number)
    return xroad_soap.envelope(CIVIL, service_code, content, body_ns=body_ns, **options)
