"""Wire up and run the central server process from its settings."""

from __future__ import annotations

from datetime import timedelta

import uvicorn
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import create_engine

from keys.token import SoftwareToken
from xroad.central.app import create_central_app
from xroad.central.service import ConfPublisher, Registry
from xroad.clock import SystemClock
from xroad.settings import CentralServerSettings

CONF_SIGNING_LABEL = "conf-signing"


def run_central_server(settings: CentralServerSettings) -> None:
    registry = Registry(create_engine(settings.db_url()), settings.instance,
                        settings.encryption_suite, settings.ocsp_freshness_s,
                        settings.tsa_urls)
    signer = SoftwareToken(settings.data_dir / "token").unlock(
        CONF_SIGNING_LABEL, settings.token_pin.get_secret_value())
    publisher = ConfPublisher(registry, signer, SystemClock(),
                              timedelta(seconds=settings.conf_validity_s))
    publisher.publish()
    scheduler = BackgroundScheduler()
    scheduler.add_job(publisher.publish, "interval", seconds=settings.conf_generation_s)
    scheduler.start()
    try:
        uvicorn.run(create_central_app(publisher, registry), host=settings.host,
                    port=settings.port, log_level="warning", access_log=False)
    finally:
        scheduler.shutdown(wait=False)
