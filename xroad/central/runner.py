"""Wire up and run the central server process from its settings."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

import uvicorn
from cryptography import x509
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session

from keys.token import SoftwareToken
from xroad.central.admin_api import admin_services, mount_admin_api
from xroad.central.app import create_central_app
from xroad.central.keys import CONF_SIGNING_LABEL, TokenConfKeys
from xroad.central.models import TimestampingAuthority
from xroad.central.publisher import ConfPublisher, SqlPublishedLog
from xroad.central.service import Registry
from xroad.clock import SystemClock
from xroad.globalconf.shared_params import ApprovedTsa
from xroad.settings import CentralServerSettings

__all__ = ["CONF_SIGNING_LABEL", "run_central_server"]


def run_central_server(settings: CentralServerSettings) -> None:
    engine = create_engine(settings.db_url())
    registry = Registry(engine, settings.instance, settings.encryption_suite,
                        settings.ocsp_freshness_s, settings.tsa_urls)
    keys = TokenConfKeys(SoftwareToken(settings.data_dir / "token"),
                         settings.token_pin.get_secret_value())
    publisher = ConfPublisher(registry, keys, SqlPublishedLog(engine), SystemClock(),
                              timedelta(seconds=settings.conf_validity_s))
    publisher.publish()
    publisher.start(settings.conf_generation_s)
    try:
        app = create_central_app(publisher, registry, _approved_tsas(engine))
        mount_admin_api(app, admin_services(  # the admin API: /api/v1/...
            engine, SystemClock(), settings.instance, auto_approve=settings.auto_approve,
            on_change=publisher.changed))
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning",
                    access_log=False)
    finally:
        publisher.stop()


def _approved_tsas(engine: Engine) -> Callable[[], Sequence[ApprovedTsa]]:
    """Time-stamping authorities with a known certificate (shared parameters need it)."""
    def read() -> list[ApprovedTsa]:
        with Session(engine) as s:
            rows = s.scalars(select(TimestampingAuthority)
                             .where(TimestampingAuthority.der.is_not(None))
                             .order_by(TimestampingAuthority.id)).all()
            return [ApprovedTsa(t.name, t.url, x509.load_der_x509_certificate(t.der))
                    for t in rows if t.der is not None]
    return read
