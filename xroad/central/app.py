"""HTTP edge of the central server: signed global configuration, a read-only registry view."""

from __future__ import annotations

from fastapi import FastAPI, Response

from xroad.central.service import ConfPublisher, Registry

GLOBALCONF_MEDIA_TYPE = "application/json"


def create_central_app(publisher: ConfPublisher, registry: Registry) -> FastAPI:
    app = FastAPI(title="X-Road bus central server", version="1")

    @app.get("/globalconf", response_class=Response)
    def globalconf() -> Response:
        """The latest signed global configuration (verify it against the configuration anchor)."""
        return Response(publisher.current(), media_type=GLOBALCONF_MEDIA_TYPE,
                        headers={"Cache-Control": "no-store"})

    @app.get("/members")
    def members() -> list[dict[str, object]]:
        conf = registry.snapshot(0, publisher.clock.now(), publisher.validity)
        return [{"id": str(m.id), "name": m.name, "subsystems": list(m.subsystems)}
                for m in conf.members]

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "instance": registry.instance}

    return app
