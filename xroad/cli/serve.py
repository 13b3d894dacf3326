"""`xroad serve ...`: run one component in the foreground, configured by XROAD_* variables."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import typer

_S = TypeVar("_S")


def load_settings(factory: Callable[..., _S], prefix: str) -> _S:
    """Settings from the environment; a bad or missing one stops the command with a clear
    message naming it (exit code 2), not a traceback."""
    from pydantic import ValidationError  # noqa: PLC0415

    try:
        return factory()
    except ValidationError as e:
        problems = "\n".join(
            f"  {prefix}{'_'.join(str(p) for p in err['loc']).upper() or '(settings)'}: "
            f"{err['msg']}" for err in e.errors())
        typer.echo(f"Invalid {prefix}* settings:\n{problems}", err=True)
        raise typer.Exit(2) from None


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

    settings = load_settings(SecurityServerSettings, "XROAD_SS_")
    configure_logging(json=settings.log_json)
    run_event_loop(run_security_server(settings))


@app.command()
def central() -> None:
    """The central server: registry and signed global configuration (XROAD_CS_* settings)."""
    from xroad.central.runner import run_central_server  # noqa: PLC0415
    from xroad.logs import configure_logging  # noqa: PLC0415
    from xroad.settings import CentralServerSettings  # noqa: PLC0415

    settings = load_settings(CentralServerSettings, "XROAD_CS_")
    configure_logging(json=settings.log_json)
    run_central_server(settings)


@app.command()
def console() -> None:
    """The web console over the central and security servers' APIs (XROAD_CONSOLE_*)."""
    import uvicorn  # noqa: PLC0415

    from xroad.console.app import create_app  # noqa: PLC0415
    from xroad.console.settings import ConsoleSettings  # noqa: PLC0415
    from xroad.logs import configure_logging  # noqa: PLC0415

    settings = load_settings(ConsoleSettings, "XROAD_CONSOLE_")
    configure_logging(json=settings.log_json)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                log_level="warning", access_log=False)


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
def portal(port: int = 9100, host: str = "127.0.0.1") -> None:
    """The e-Mongolia citizen portal, an X-Road client (XROAD_PORTAL_* settings)."""
    import uvicorn  # noqa: PLC0415
    from pydantic import ValidationError  # noqa: PLC0415

    from adapters.portal.app import from_environment  # noqa: PLC0415
    from xroad.logs import configure_logging  # noqa: PLC0415

    configure_logging(json=True)
    try:
        application = from_environment()
    except ValidationError as e:  # a clear message, not a traceback
        typer.echo(f"Invalid XROAD_PORTAL_* settings: {e}", err=True)
        raise typer.Exit(2) from e
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
