"""`xroad serve ...`: run one component in the foreground, configured by XROAD_* variables."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import typer


def run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """uvloop where available: the security server is event-loop bound (see make bench)."""
    try:
        import uvloop  # noqa: PLC0415
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


app = typer.Typer(no_args_is_help=True, help="Run one component (settings from XROAD_* variables).")


@app.command("security-server")
def security_server() -> None:
    """A security server: client proxy and server proxy (XROAD_SS_* settings)."""
    from xroad.logs import configure_logging  # noqa: PLC0415
    from xroad.proxy.runner import run_security_server  # noqa: PLC0415
    from xroad.settings import SecurityServerSettings  # noqa: PLC0415

    settings = SecurityServerSettings()  # type: ignore[call-arg]  # from the environment
    configure_logging(json=settings.log_json)
    run_event_loop(run_security_server(settings))


@app.command()
def central() -> None:
    """The central server: registry and signed global configuration (XROAD_CS_* settings)."""
    from xroad.central.runner import run_central_server  # noqa: PLC0415
    from xroad.logs import configure_logging  # noqa: PLC0415
    from xroad.settings import CentralServerSettings  # noqa: PLC0415

    settings = CentralServerSettings()  # type: ignore[call-arg]  # from the environment
    configure_logging(json=settings.log_json)
    run_central_server(settings)


@app.command()
def adapter(name: str, port: int = 9001, host: str = "127.0.0.1") -> None:
    """A registry adapter: civil, land, vehicle or tax (its XROAD_<NAME>_* settings)."""
    import importlib  # noqa: PLC0415

    import uvicorn  # noqa: PLC0415

    from xroad.demo.topology import KNOWN_ADAPTERS  # noqa: PLC0415
    from xroad.logs import configure_logging  # noqa: PLC0415

    configure_logging(json=True)
    if name not in KNOWN_ADAPTERS:
        raise typer.BadParameter(f"unknown registry {name!r}; known: "
                                 f"{', '.join(sorted(KNOWN_ADAPTERS))}")
    application = importlib.import_module(f"adapters.{name}.app").from_environment()
    uvicorn.run(application, host=host, port=port, log_level="warning", access_log=False)


@app.command()
def ocsp(port: int = 8888, host: str = "127.0.0.1") -> None:
    """The dev PKI's OCSP responder (XROAD_PKI_DIR, XROAD_PKI_TOKEN_PIN). TEST ONLY."""
    from keys.services import run_ocsp_responder  # noqa: PLC0415
    from xroad.logs import configure_logging  # noqa: PLC0415
    from xroad.settings import DevPkiSettings  # noqa: PLC0415

    settings = DevPkiSettings()  # type: ignore[call-arg]  # from the environment
    configure_logging(json=True)
    run_ocsp_responder(settings.dir, settings.token_pin.get_secret_value(), host, port)


@app.command()
def tsa(port: int = 8899, host: str = "127.0.0.1") -> None:
    """The dev PKI's RFC 3161 time-stamping authority (XROAD_PKI_* settings). TEST ONLY."""
    from keys.services import run_tsa  # noqa: PLC0415
    from xroad.logs import configure_logging  # noqa: PLC0415
    from xroad.settings import DevPkiSettings  # noqa: PLC0415

    settings = DevPkiSettings()  # type: ignore[call-arg]  # from the environment
    configure_logging(json=True)
    run_tsa(settings.dir, settings.token_pin.get_secret_value(), host, port)
