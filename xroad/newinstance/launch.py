"""How the operator starts each component of a new instance: an env file (usable as a systemd
`EnvironmentFile`) and a start script per component (pure: text out).

The token PIN is in neither: the script reads it from `XROAD_TOKEN_PIN` or, if `xroad init`
generated it, from `secrets/token-pin`, and hands it to the component's own variable, so an
env file can be shown or copied without giving the keys away.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Final

from xroad.newinstance.layout import InstanceLayout
from xroad.newinstance.plan import DevPki, InstancePlan, Listen

PIN_VARIABLE: Final = "XROAD_TOKEN_PIN"  # as `xroad keys`


@dataclass(frozen=True, slots=True)
class Component:
    name: str  # file names: env/<name>.env, start-<name>.sh
    title: str
    url: str
    listen: Listen
    settings: tuple[tuple[str, str], ...]  # what `xroad serve` reads, besides the PIN
    pin_variable: str
    serve_args: tuple[str, ...]


def components(plan: InstancePlan, layout: InstanceLayout) -> tuple[Component, ...]:
    """The central server, and the dev PKI's OCSP responder and TSA if this instance has one.

    `layout` is the final location: the files name absolute paths.
    """
    central = plan.central
    found = [Component(
        "central", "central server", central.url, central.listen,
        (("XROAD_CS_INSTANCE", plan.instance),
         ("XROAD_CS_DATA_DIR", str(layout.central)),
         ("XROAD_CS_HOST", central.listen.host),
         ("XROAD_CS_PORT", str(central.listen.port)),
         ("XROAD_CS_TSA_URLS", json.dumps(list(plan.tsa_urls)))),
        "XROAD_CS_TOKEN_PIN", ("serve", "central"))]
    if isinstance(plan.trust, DevPki):
        for name, title, service in (("ocsp", "OCSP responder (dev PKI)", plan.trust.ocsp),
                                     ("tsa", "time-stamping authority (dev PKI)",
                                      plan.trust.tsa)):
            found.append(Component(
                name, title, service.url, service.listen, (("XROAD_PKI_DIR", str(layout.pki)),),
                "XROAD_PKI_TOKEN_PIN",
                ("serve", name, "--host", service.listen.host,
                 "--port", str(service.listen.port))))
    return tuple(found)


def render_env(component: Component, instance: str) -> str:
    lines = [f"# {instance} {component.title}: settings of `xroad "
             f"{' '.join(component.serve_args[:2])}` (written by xroad init).",
             f"# The token PIN is not here: start-{component.name}.sh sets "
             f"{component.pin_variable}."]
    lines += [f"{key}={shlex.quote(value)}" for key, value in component.settings]
    return "\n".join(lines) + "\n"


def render_start_script(component: Component, instance: str, *, pin_stored: bool,
                        xroad: str) -> str:
    """A POSIX shell script that runs the component in the foreground (Ctrl-C stops it)."""
    if pin_stored:
        pin = (f'if [ -z "${{{PIN_VARIABLE}:-}}" ]; then\n'
               f'  {PIN_VARIABLE}=$(cat "$here/secrets/token-pin")\n'
               f"fi\n")
    else:
        pin = (f'if [ -z "${{{PIN_VARIABLE}:-}}" ]; then\n'
               f"  echo 'set {PIN_VARIABLE} to the token PIN given to xroad init' >&2\n"
               f"  exit 1\n"
               f"fi\n")
    command = " ".join(shlex.quote(a) for a in component.serve_args)
    return (f"#!/bin/sh\n"
            f"# Runs the {instance} {component.title} ({component.url}) in the foreground.\n"
            f"# Settings: env/{component.name}.env. Written by xroad init; set XROAD to use "
            f"another xroad.\n"
            f"set -eu\n"
            f'here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)\n'
            f"set -a\n"
            f'. "$here/env/{component.name}.env"\n'
            f"set +a\n"
            f"{pin}"
            f'{component.pin_variable}="${PIN_VARIABLE}"\n'
            f"export {component.pin_variable}\n"
            f"xroad=${{XROAD:-{shlex.quote(xroad)}}}\n"
            f'exec "$xroad" {command}\n')
