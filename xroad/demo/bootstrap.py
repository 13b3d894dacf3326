"""Lay out a demo data directory: dev PKI, tokens, central registry, each server's serverconf.

Everything is created on first run and reused afterwards; only addresses (ports) are updated.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from datetime import datetime
from importlib import resources
from pathlib import Path

from sqlalchemy import create_engine

from keys.devpki import DevCa, ensure_dev_ca, new_key
from keys.encryption_seed import encryption_keypairs
from keys.token import SoftwareToken
from xroad.access import AccessRight, Endpoint
from xroad.central.bootstrap import ensure_conf_signing_key
from xroad.central.seed import InstanceSeed, parse_seed
from xroad.central.service import Registry
from xroad.clock import FixedClock
from xroad.demo.admin_keys import ensure_central_admin_keys
from xroad.demo.console_accounts import ensure_demo_accounts
from xroad.demo.topology import (
    MN_DEMO,
    REGISTRY_CONSUMERS,
    DemoPorts,
    DemoServer,
    DemoTopology,
    demo_topology,
    servers,
)
from xroad.globalconf.anchor import ConfigurationAnchor
from xroad.identifiers import ClientId, GlobalGroupId
from xroad.proxy.layout import AUTH_KEY_LABEL, SERVERCONF_FILE, signing_label
from xroad.serverconf import ServerConf, ServiceDescription, ServiceType, render
from xroad.serverconf import parse as parse_serverconf


@dataclass(frozen=True, slots=True)
class DemoLayout:
    root: Path

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def central(self) -> Path:
        return self.root / "central"

    @property
    def anchor(self) -> Path:
        return self.central / "anchor.json"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def adapters(self) -> Path:
        return self.root / "adapters"

    @property
    def console(self) -> Path:
        return self.root / "console"

    def server_dir(self, server: DemoServer) -> Path:
        return self.root / "ss" / server.dir_name


@dataclass(frozen=True, slots=True)
class DemoSeed:
    """What a demo instance is made of: its seed and who runs where."""

    seed: InstanceSeed
    topology: DemoTopology


def load_demo_seed() -> InstanceSeed:
    text = resources.files("xroad.central").joinpath("demo-instance.toml").read_text("utf-8")
    return parse_seed(text)


def load_demo(seed_path: Path | None = None) -> DemoSeed:
    """The embedded MN demo, or the instance a seed file (with a `[demo]` table) describes."""
    if seed_path is None:
        return DemoSeed(load_demo_seed(), MN_DEMO)
    text = seed_path.read_text(encoding="utf-8")
    seed = parse_seed(text)
    return DemoSeed(seed, demo_topology(seed, text))


def bootstrap(layout: DemoLayout, ports: DemoPorts, pin: str, at: datetime,
              demo: DemoSeed | None = None) -> None:
    demo = demo or load_demo()
    seed, topology = demo.seed, demo.topology
    for path in (layout.pki, layout.central, layout.logs, layout.adapters):
        path.mkdir(parents=True, exist_ok=True)
    ca = ensure_dev_ca(layout.pki, seed.instance, pin, at,
                       ocsp_url=f"http://127.0.0.1:{ports.ocsp}")
    conf_cert = ensure_conf_signing_key(
        SoftwareToken(layout.central / "token"), pin, seed.instance, at,
        issue=lambda key, when: [ca.issue_conf_signing_cert(seed.instance, key, when), *ca.chain])
    layout.anchor.write_bytes(ConfigurationAnchor(
        seed.instance, f"http://127.0.0.1:{ports.central}/globalconf", (conf_cert,)).encode())

    registry = Registry(create_engine(f"sqlite:///{layout.central / 'central.db'}"),
                        seed.instance)
    registry.apply_seed(seed)
    ocsp_url = f"http://127.0.0.1:{ports.ocsp}"
    registry.add_approved_ca("dev root CA", ca.root, ocsp_url)
    registry.add_approved_ca("dev issuing CA", ca.issuing, ocsp_url)
    hosted = {s.id: s.clients for s in seed.servers}
    for server in servers(ports, topology):
        directory = layout.server_dir(server)
        _server_token(directory / "token", server, hosted[server.id], ca, pin, at)
        _register(registry, server, directory / "token", pin)
        shutil.copyfile(layout.pki / "ca-chain.pem", directory / "ca-chain.pem")
        _write_serverconf(directory / SERVERCONF_FILE,
                          _serverconf(server, hosted[server.id], ports, topology))
    registry.close()
    ensure_central_admin_keys(layout.central, f"sqlite:///{layout.central / 'central.db'}",
                              FixedClock(at))
    ensure_demo_accounts(layout.console, FixedClock(at))


def _write_serverconf(path: Path, demo: ServerConf) -> None:
    """Services and clients follow the demo's ports; access rights an operator changed with
    `xroad acl` are kept."""
    if path.exists():
        current = parse_serverconf(path.read_text(encoding="utf-8"))
        demo = replace(demo, access_rights=current.access_rights,
                       local_groups=current.local_groups)
    path.write_text(render(demo), encoding="utf-8")


def _register(registry: Registry, server: DemoServer, token_dir: Path, pin: str) -> None:
    """What the central server must know of a server: address, TLS and encryption keys."""
    auth = SoftwareToken(token_dir).unlock(AUTH_KEY_LABEL, pin).certificate
    registry.set_server_address(server.id, f"https://127.0.0.1:{server.server_port}")
    registry.add_auth_cert(server.id, auth)
    for pair in encryption_keypairs(token_dir, pin):
        registry.set_encryption_key(server.id, pair.recipient)


def _server_token(directory: Path, server: DemoServer, clients: tuple[ClientId, ...], ca: DevCa,
                  pin: str, at: datetime) -> None:
    token = SoftwareToken(directory)
    if not token.key_path(AUTH_KEY_LABEL).exists():
        key = new_key()
        token.store(AUTH_KEY_LABEL, key, [ca.issue_auth_cert(server.id, key.public_key(), at),
                                          *ca.chain], pin)
    for member in {c.member for c in clients}:
        label = signing_label(member)
        if not token.key_path(label).exists():
            key = new_key()
            token.store(label, key, [ca.issue_signing_cert(member, key.public_key(), at),
                                     *ca.chain], pin)


def _serverconf(server: DemoServer, clients: tuple[ClientId, ...], ports: DemoPorts,
                topology: DemoTopology) -> ServerConf:
    services: list[ServiceDescription] = []
    rights: list[AccessRight] = []
    for adapter, port in zip(topology.adapters, ports.adapters, strict=True):
        if adapter.server != server.id:
            continue
        base = f"http://127.0.0.1:{port}"
        services += [ServiceDescription(adapter.subsystem, code, ServiceType.SOAP, f"{base}/soap",
                                        description_url=f"{base}/wsdl")
                     for code in adapter.soap_services]
        services += [ServiceDescription(adapter.subsystem, code, ServiceType.REST,
                                        f"{base}/{code}", description_url=f"{base}/openapi.json")
                     for code in adapter.rest_services]
        consumers = GlobalGroupId(server.id.owner.instance, REGISTRY_CONSUMERS)
        rights += [AccessRight(consumers, adapter.subsystem, code)
                   for code in adapter.soap_services]
        rights += [AccessRight(topology.portal, adapter.subsystem, code,
                               Endpoint("GET", pattern))
                   for code in adapter.rest_services for pattern in adapter.rest_endpoints]
    return ServerConf(server.id, clients, tuple(services), tuple(rights))
