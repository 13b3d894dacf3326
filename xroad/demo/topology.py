"""Who runs where in the demo instance, and on which ports."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Final

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

    def all(self) -> list[int]:
        return [self.central, *(p for pair in self.servers for p in pair), *self.adapters,
                self.ocsp, self.tsa]


PORTAL: Final = ClientId.parse("MN/GOV/EMONGOLIA/portal")
REGISTRY_CONSUMERS: Final = "registry-consumers"  # global group in demo-instance.toml
SERVER_IDS: Final = (SecurityServerId.parse("MN/GOV/EMONGOLIA/ss1"),
                     SecurityServerId.parse("MN/GOV/GASR/ss1"))
ADAPTERS: Final = (
    DemoAdapter("civil", ClientId.parse("MN/GOV/GASR/civil-registry"), SERVER_IDS[1],
                soap_services=("getPerson", "getFamily"), rest_services=("persons",),
                rest_endpoints=("/*", "/*/family")),
)
DEFAULT_PORTS: Final = DemoPorts(central=4000,
                                 servers=((8080, 5500, 4100), (8081, 5501, 4101)),
                                 adapters=(9001,), ocsp=8888, tsa=8899)


def free_ports() -> DemoPorts:
    """Ports the OS reports free right now (held open together so they are distinct)."""
    count = len(DEFAULT_PORTS.all())
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
        servers=tuple((next(take), next(take), next(take)) for _ in SERVER_IDS),
        adapters=tuple(next(take) for _ in ADAPTERS), ocsp=next(take), tsa=next(take))


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


def servers(ports: DemoPorts) -> tuple[DemoServer, ...]:
    return tuple(DemoServer(sid, *triple) for sid, triple in zip(SERVER_IDS, ports.servers,
                                                                    strict=True))
