"""HTTP edge of the central server: signed global configuration, a read-only registry view."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fastapi import FastAPI

from xroad.central.globalconf_api import GLOBALCONF_MEDIA_TYPE, globalconf_router
from xroad.central.service import ConfPublisher, Registry
from xroad.globalconf.shared_params import ApprovedTsa

__all__ = ["GLOBALCONF_MEDIA_TYPE", "create_central_app"]


def create_central_app(publisher: ConfPublisher, registry: Registry,
                       tsas: Callable[[], Sequence[ApprovedTsa]] = tuple) -> FastAPI:
    app = FastAPI(title="X-Road bus central server", version="1")

    app.include_router(globalconf_router(publisher, tsas))

    @app.get("/members")
    def members() -> list[dict[str, object]]:
        conf = registry.snapshot(0, publisher.clock.now(), publisher.validity)
        return [{"id": str(m.id), "name": m.name, "subsystems": list(m.subsystems)}
                for m in conf.members]

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "instance": registry.instance}

    return app
