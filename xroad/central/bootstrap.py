"""What a new central server starts with: its configuration signing key and its time-stamping
authorities. Shared by the demo (`xroad.demo.bootstrap`) and `xroad init`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from keys.token import SoftwareToken
from xroad.central.keys import (
    CONF_SIGNING_LABEL,
    CertIssuer,
    activate_next_key,
    next_key,
    prepare_next_key,
)
from xroad.central.models import TimestampingAuthority

__all__ = ["approve_tsa", "ensure_conf_signing_key"]


def ensure_conf_signing_key(token: SoftwareToken, pin: str, instance: str, at: datetime, *,
                            issue: CertIssuer | None = None) -> x509.Certificate:
    """The configuration signing certificate in `token`, the key made on first use.

    A first key goes through the same two steps as a rotation (`xroad.central.keys`): in a
    token without a current key the prepared one is activated at once, as nothing can have
    trusted another key yet. `issue` makes its certificate; default: self-signed, as X-Road
    has it (the certificate only carries the key into the configuration anchor).
    """
    if not token.key_path(CONF_SIGNING_LABEL).exists():
        if next_key(token) is None:
            prepare_next_key(token, pin, instance, at, issue=issue)
        activate_next_key(token, at, min_announcement=timedelta(0))
    return token.chain_of(CONF_SIGNING_LABEL)[0]


def approve_tsa(engine: Engine, name: str, url: str, cert: x509.Certificate | None) -> None:
    """Record a time-stamping authority in the registry (or update its name and certificate).

    The shared-parameters view lists those with a certificate; the signed global configuration
    names the TSA URLs of the `XROAD_CS_TSA_URLS` setting.
    """
    der = None if cert is None else cert.public_bytes(serialization.Encoding.DER)
    with Session(engine) as s, s.begin():
        row = s.scalars(select(TimestampingAuthority)
                        .where(TimestampingAuthority.url == url)).first()
        if row is None:
            s.add(TimestampingAuthority(name=name, url=url, der=der))
        else:
            row.name, row.der = name, der
