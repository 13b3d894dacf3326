"""Size and time bounds applied to everything that arrives from outside."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    max_xml_bytes: int = 10 * 1024 * 1024
    max_body_bytes: int = 10 * 1024 * 1024  # X-Road: 10 MiB
    max_url_chars: int = 2048
    max_header_bytes: int = 16 * 1024
    service_timeout_s: float = 60.0
    connect_timeout_s: float = 30.0
    # A client or peer that sends nothing for this long while its request's headers or body
    # are due is disconnected: a slow sender (slowloris) must not hold a connection forever.
    read_timeout_s: float = 30.0
