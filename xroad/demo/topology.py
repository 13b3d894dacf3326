"""Who runs where in a demo instance, and on which ports.

The embedded demo is Mongolia's (`MN_DEMO`, seeded from `xroad/central/demo-instance.toml`).
Another instance's demo (e.g. Laos, for federation) comes from a seed file whose `[demo]`
table names its demo client and the registries it serves (`demo_topology`).
"""

from __future__ import annotations

import socket
import tomllib
from dataclasses import dataclass
from typing import Any, Final

from xroad.central.seed import InstanceSeed
from xroad.errors import InvalidMessage
from xroad.identifiers import ClientId, SecurityServerId


@dataclass(frozen=True, slots=True)
class DemoAdapter:
    name: str
    subsystem: ClientId
    server: SecurityServerId
    soap_services: tuple[str, ...]
    rest_services: tuple[str, ...]
    rest_endpoints: tuple[str, ...]  # GET path patterns the portal may call


@dataclass(frozen=True, slots=True)
class DemoServer:
    id: SecurityServerId
    client_port: int
    server_port: int
    admin_port: int

    @property
    def dir_name(self) -> str:
        return str(self.id).replace("/", "_")


@dataclass(frozen=True, slots=True)
class DemoPorts:
    central: int
    servers: tuple[tuple[int, int, int], ...]  # (client, server, admin) per security server
    adapters: tuple[int, ...]
    ocsp: int
    tsa: int
    portal: int = 9100  # the citizen portal (adapters/portal), started after the servers
    console: int = 4400  # the web console (xroad/console), started last

    def all(self) -> list[int]:
        return [self.central, *(p for pair in self.servers for p in pair), *self.adapters,
                self.ocsp, self.tsa, self.portal, self.console]


@dataclass(frozen=True, slots=True)
class DemoTopology:
    """One demo instance: its security servers (the demo client's first), its demo client
    (portal), the registries it serves, and its default ports (None: always free ones)."""

    instance: str
    server_ids: tuple[SecurityServerId, ...]
    portal: ClientId
    adapters: tuple[DemoAdapter, ...]
    default_ports: DemoPorts | None = None


PORTAL: Final = ClientId.parse("MN/GOV/EMONGOLIA/portal")
REGISTRY_CONSUMERS: Final = "registry-consumers"  # global group in demo-instance.toml
SERVER_IDS: Final = (SecurityServerId.parse("MN/GOV/EMONGOLIA/ss1"),
                     SecurityServerId.parse("MN/GOV/GASR/ss1"))
ADAPTERS: Final = (
    DemoAdapter("civil", ClientId.parse("MN/GOV/GASR/civil-registry"), SERVER_IDS[1],
                soap_services=("getPerson", "getFamily"), rest_services=("persons",),
                rest_endpoints=("/*", "/*/family")),
    DemoAdapter("land", ClientId.parse("MN/GOV/ALAMGAC/land-registry"), SERVER_IDS[1],
                soap_services=("getParcelsByOwner", "getParcel"), rest_services=("parcels",),
                rest_endpoints=("/", "/*")),
    DemoAdapter("vehicle", ClientId.parse("MN/GOV/RTDC/vehicle-registry"), SERVER_IDS[1],
                soap_services=("getVehiclesByOwner", "getVehicleByPlate"),
                rest_services=("vehicles",), rest_endpoints=("/", "/*")),
    DemoAdapter("tax", ClientId.parse("MN/GOV/MTA/tax-registry"), SERVER_IDS[1],
                soap_services=("getTaxStatus", "getTaxpayer"),
                rest_services=("tax-status", "taxpayers"), rest_endpoints=("/*",)),
)
DEFAULT_PORTS: Final = DemoPorts(central=4000,
                                 servers=((8080, 5500, 4100), (8081, 5501, 4101)),
                                 adapters=(9001, 9002, 9003, 9004), ocsp=8888, tsa=8899,
                                 portal=9100, console=4400)
MN_DEMO: Final = DemoTopology("MN", SERVER_IDS, PORTAL, ADAPTERS, DEFAULT_PORTS)
KNOWN_ADAPTERS: Final = frozenset({"civil", "land", "vehicle", "tax"})  # `xroad serve adapter`


def demo_topology(seed: InstanceSeed, seed_text: str) -> DemoTopology:
    """The topology a seed file's `[demo]` table describes, checked against the seed:

    ```
    [demo]
    portal = "LA/GOV/MOHA/portal"         # the demo client, hosted on one of the servers
    [[demo.adapters]]
    name = "civil"                        # a registry adapter `xroad serve adapter` runs
    subsystem = "LA/GOV/MOHA/civil-registry"
    server = "LA/GOV/MOHA/ss1"
    rest_services = ["persons"]
    rest_endpoints = ["/*"]               # what the portal may GET (access rights)
    soap_services = ["getPerson"]
    ```
    """
    try:
        doc: dict[str, Any] = tomllib.loads(seed_text)["demo"]
        portal = ClientId.parse(doc["portal"])
        adapters = tuple(DemoAdapter(
            str(a["name"]), ClientId.parse(a["subsystem"]), SecurityServerId.parse(a["server"]),
            tuple(a.get("soap_services", [])), tuple(a.get("rest_services", [])),
            tuple(a.get("rest_endpoints", ["/*"]))) for a in doc.get("adapters", []))
    except (tomllib.TOMLDecodeError, KeyError, TypeError, AttributeError) as e:
        raise InvalidMessage(f"a demo seed needs a [demo] table with a portal: {e}") from e
    hosted = {s.id: s.clients for s in seed.servers}
    consumer = next((s for s, clients in hosted.items() if portal in clients), None)
    if consumer is None:
        raise InvalidMessage(f"demo portal {portal} is hosted on no security server of the seed")
    for adapter in adapters:
        if adapter.name not in KNOWN_ADAPTERS:
            raise InvalidMessage(f"unknown demo adapter {adapter.name!r}; known: "
                                 f"{', '.join(sorted(KNOWN_ADAPTERS))}")
        if adapter.subsystem not in hosted.get(adapter.server, ()):
            raise InvalidMessage(f"{adapter.subsystem} is not hosted on {adapter.server}")
    others = tuple(s for s in hosted if s != consumer)
    return DemoTopology(seed.instance, (consumer, *others), portal, adapters)


def free_ports(topology: DemoTopology = MN_DEMO) -> DemoPorts:
    """Ports the OS reports free right now (held open together so they are distinct)."""
    count = 5 + 3 * len(topology.server_ids) + len(topology.adapters)
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        ports = [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()
    take = iter(ports)
    return DemoPorts(
        central=next(take),
        servers=tuple((next(take), next(take), next(take)) for _ in topology.server_ids),
        adapters=tuple(next(take) for _ in topology.adapters), ocsp=next(take), tsa=next(take),
        portal=next(take), console=next(take))


def ports_in_use(ports: DemoPorts, host: str = "127.0.0.1") -> list[int]:
    busy = []
    for port in ports.all():
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, port))
            except OSError:
                busy.append(port)
    return busy


def servers(ports: DemoPorts, topology: DemoTopology = MN_DEMO) -> tuple[DemoServer, ...]:
    return tuple(DemoServer(sid, *triple) for sid, triple in zip(topology.server_ids,
                                                                    ports.servers, strict=True))
