"""`xroad demo`: bootstrap or reuse `var/`, start every component, print how to use it."""

from __future__ import annotations

import json
import secrets
import signal
import time
from pathlib import Path
from urllib.parse import quote

import typer
from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from xroad.clock import SystemClock
from xroad.demo.bootstrap import DemoLayout, DemoSeed, bootstrap, load_demo
from xroad.demo.cluster import ClusterPlan, DemoCluster, node_processes, nodes_entry, plan_clusters
from xroad.demo.console_accounts import CREDENTIALS_FILE, read_credentials
from xroad.demo.supervisor import StartupFailed, Supervisor
from xroad.demo.topology import (
    MN_DEMO,
    DemoPorts,
    DemoTopology,
    free_ports,
    ports_in_use,
    servers,
)
from xroad.errors import XRoadError
from xroad.identifiers import SecurityServerId

DEMO_PERSON = "УБ99112233"
AUDITOR_KEY_FILE = "auditor-api-key"  # read by `xroad audit export` to seal a checkpoint


class DemoSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XROAD_DEMO_", frozen=True, extra="forbid")

    token_pin: SecretStr = SecretStr("demo-token-pin")  # TEST ONLY: the demo's software tokens
    globalconf_refresh_s: float = 60.0
    # Another instance's demo (e.g. for federation): a seed file with a [demo] table; its
    # instance code is the seed's. None: the embedded MN demo.
    seed: Path | None = None
    # Security servers run as several nodes on one PostgreSQL database, behind a load balancer
    # the demo does not start (xroad/demo/cluster.py), e.g.
    # {"MN/GOV/GASR/ss1": {"nodes": 2, "database_url": "postgresql+psycopg://..."}}.
    clusters: dict[str, DemoCluster] = {}


def run_demo(data_dir: Path, *, free_ports: bool) -> int:
    try:
        settings = DemoSettings()
    except ValidationError as e:  # e.g. a malformed XROAD_DEMO_CLUSTERS: a message, no traceback
        typer.echo(f"Invalid XROAD_DEMO_* settings: {e}", err=True)
        return 2
    try:
        demo = load_demo(settings.seed)
    except (OSError, XRoadError) as e:
        typer.echo(f"Cannot use the demo seed {settings.seed}: {e}", err=True)
        return 2
    ports = _choose_ports(free_ports, demo.topology)
    clusters = None if ports is None else _plan_clusters(settings, ports, demo.topology)
    if ports is None or clusters is None:
        return 2
    layout = DemoLayout(data_dir)
    first_run = not (layout.pki / "ca-chain.pem").exists()
    typer.echo(("Creating" if first_run else "Reusing")
               + f" demo data of instance {demo.seed.instance} in {data_dir}/ ...")
    pin = settings.token_pin.get_secret_value()
    bootstrap(layout, ports, pin, SystemClock().now(), demo)
    supervisor = Supervisor(layout.logs)
    # `kill`, `timeout` and service managers send SIGTERM: stop the children as for Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        _start(supervisor, layout, ports, settings, demo, clusters)
        _write_instance(layout, ports, demo, clusters)
        _banner(layout, ports, demo.topology)
        reported: set[str] = set()
        while not supervisor.all_exited():
            for child in supervisor.newly_exited(reported):
                typer.echo(f"\n{child.name} stopped (exit code {child.process.returncode}); the "
                           f"rest keeps running. Last lines of {child.log_path}:\n"
                           f"{supervisor.tail(child)}", err=True)
            time.sleep(0.5)
        typer.echo("Every demo process has stopped.", err=True)
        return 1
    except StartupFailed as e:
        typer.echo(f"\nStartup failed: {e}", err=True)
        return 1
    except KeyboardInterrupt:
        typer.echo("\nStopping ...")
        return 0
    finally:
        supervisor.stop_all()
        typer.echo("All demo processes stopped.")


def admin_key(directory: Path, name: str) -> str:
    """The demo server's API key in `directory/name`, made on first use (readable by the
    owner only; the demo prints where it is, never the key)."""
    path = directory / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32) + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _choose_ports(free: bool, topology: DemoTopology) -> DemoPorts | None:
    if free or topology.default_ports is None:
        if not free:
            typer.echo(f"The {topology.instance} demo has no default ports: picking free ones.")
        return free_ports(topology)
    busy = ports_in_use(topology.default_ports)
    if busy:
        typer.echo(f"Port(s) {', '.join(map(str, busy))} are in use on 127.0.0.1. Stop what holds "
                   "them (an earlier `make run`?) or start with `xroad demo --free-ports`.",
                   err=True)
        return None
    return topology.default_ports


def _plan_clusters(settings: DemoSettings, ports: DemoPorts, topology: DemoTopology
                   ) -> dict[SecurityServerId, ClusterPlan] | None:
    try:
        return plan_clusters(settings.clusters, servers(ports, topology), ports.all())
    except ValueError as e:
        typer.echo(str(e), err=True)
        return None


def _start(supervisor: Supervisor, layout: DemoLayout, ports: DemoPorts,
           settings: DemoSettings, demo: DemoSeed,
           clusters: dict[SecurityServerId, ClusterPlan]) -> None:
    seed, topology = demo.seed, demo.topology
    pin = settings.token_pin.get_secret_value()
    pki_env = {"XROAD_PKI_DIR": str(layout.pki), "XROAD_PKI_TOKEN_PIN": pin}
    for name, port in (("ocsp", ports.ocsp), ("tsa", ports.tsa)):
        typer.echo(f"Starting dev PKI {name.upper()} service ...")
        child = supervisor.start(f"pki-{name}", ["serve", name, "--port", str(port)], pki_env)
        supervisor.wait_healthy(child, f"http://127.0.0.1:{port}/health", require_ok=False)
    typer.echo("Starting central server ...")
    central = supervisor.start("central-server", ["serve", "central"], {
        "XROAD_CS_INSTANCE": seed.instance, "XROAD_CS_DATA_DIR": str(layout.central),
        "XROAD_CS_TOKEN_PIN": pin, "XROAD_CS_PORT": str(ports.central),
        "XROAD_CS_TSA_URLS": json.dumps([f"http://127.0.0.1:{ports.tsa}"])})
    supervisor.wait_healthy(central, f"http://127.0.0.1:{ports.central}/health")
    for adapter, port in zip(topology.adapters, ports.adapters, strict=True):
        typer.echo(f"Starting {adapter.name} registry ...")
        child = supervisor.start(f"{adapter.name}-registry", [
            "serve", "adapter", adapter.name, "--port", str(port)], {
            f"XROAD_{adapter.name.upper()}_DATABASE_URL":
                f"sqlite:///{layout.adapters / (adapter.name + '.db')}"})
        supervisor.wait_healthy(child, f"http://127.0.0.1:{port}/health")
    for server in servers(ports, topology):
        typer.echo(f"Starting security server {server.id} ...")
        directory = layout.server_dir(server)
        env = {
            "XROAD_SS_SERVER_ID": str(server.id), "XROAD_SS_DATA_DIR": str(directory),
            "XROAD_SS_ANCHOR_PATH": str(layout.anchor), "XROAD_SS_TOKEN_PIN": pin,
            "XROAD_SS_CLIENT_PORT": str(server.client_port),
            "XROAD_SS_SERVER_PORT": str(server.server_port),
            "XROAD_SS_GLOBALCONF_REFRESH_S": str(settings.globalconf_refresh_s),
            "XROAD_SS_ADMIN_PORT": str(server.admin_port),
            "XROAD_SS_ADMIN_API_KEY": admin_key(directory, "admin-api-key"),
            "XROAD_SS_OBSERVER_API_KEY": admin_key(directory, "observer-api-key"),
            "XROAD_SS_AUDITOR_API_KEY": admin_key(directory, AUDITOR_KEY_FILE),
            "XROAD_SS_DATA_ACCESS_API_KEY": admin_key(directory, "data-access-api-key")}
        for name, node_env, client_port in node_processes(f"ss-{server.dir_name}", env, server,
                                                          clusters.get(server.id)):
            child = supervisor.start(name, ["serve", "security-server"], node_env)
            supervisor.wait_healthy(child, f"http://127.0.0.1:{client_port}/health")
    portal_env = _portal_env(ports, topology)
    if portal_env is not None:
        typer.echo(f"Starting citizen portal {topology.portal} ...")
        child = supervisor.start("portal", ["serve", "portal", "--port", str(ports.portal)],
                                 portal_env)
        supervisor.wait_healthy(child, f"http://127.0.0.1:{ports.portal}/health")
    typer.echo("Starting web console ...")
    child = supervisor.start("console", ["serve", "console"],
                             _console_env(layout, ports, topology))
    supervisor.wait_healthy(child, f"http://127.0.0.1:{ports.console}/health")


def _console_env(layout: DemoLayout, ports: DemoPorts, topology: DemoTopology) -> dict[str, str]:
    """The console reads the central server's and each security server's API key files
    itself; plain-http loopback, so its cookies cannot be `Secure`."""
    return {"XROAD_CONSOLE_DATA_DIR": str(layout.console),
            "XROAD_CONSOLE_PORT": str(ports.console),
            "XROAD_CONSOLE_CENTRAL_URL": f"http://127.0.0.1:{ports.central}",
            "XROAD_CONSOLE_CENTRAL_KEY_DIR": str(layout.central),
            "XROAD_CONSOLE_COOKIE_SECURE": "false",
            "XROAD_CONSOLE_SERVERS": json.dumps([
                {"id": str(s.id), "admin_url": f"http://127.0.0.1:{s.admin_port}",
                 "key_dir": str(layout.server_dir(s))} for s in servers(ports, topology)])}


# The REST service of each registry that the citizen portal (adapters/portal) composes.
PORTAL_SERVICES = {"civil": "persons", "land": "parcels", "vehicle": "vehicles",
                   "tax": "tax-status"}


def _portal_env(ports: DemoPorts, topology: DemoTopology) -> dict[str, str] | None:
    """The portal's settings, pointed at this demo's registries through its consumer security
    server; None (no portal) when the demo lacks one of the four registries, as the LA seed
    (civil only) does: a profile of one section in four is no profile."""
    by_name = {a.name: a for a in topology.adapters}
    if not all(name in by_name for name in PORTAL_SERVICES):
        return None
    consumer = servers(ports, topology)[0]
    return {"XROAD_PORTAL_SECURITY_SERVER_URL": f"http://127.0.0.1:{consumer.client_port}",
            "XROAD_PORTAL_CLIENT": str(topology.portal),
            **{f"XROAD_PORTAL_{name.upper()}_SERVICE": f"{by_name[name].subsystem}/{code}"
               for name, code in PORTAL_SERVICES.items()}}


def _write_instance(layout: DemoLayout, ports: DemoPorts, demo: DemoSeed,
                    clusters: dict[SecurityServerId, ClusterPlan]) -> None:
    seed, topology = demo.seed, demo.topology
    hosted = {s.id: s.clients for s in seed.servers}
    doc = {
        "instance": seed.instance,
        "central_server": {"url": f"http://127.0.0.1:{ports.central}"},
        "security_servers": [
            {"id": str(s.id), "client_url": f"http://127.0.0.1:{s.client_port}",
             "server_url": f"https://127.0.0.1:{s.server_port}",
             "admin_url": f"http://127.0.0.1:{s.admin_port}",
             "clients": [str(c) for c in hosted[s.id]], **nodes_entry(clusters.get(s.id))}
            for s in servers(ports, topology)],
        "adapters": {
            a.name: {"subsystem": str(a.subsystem), "url": f"http://127.0.0.1:{port}",
                     "soap_services": list(a.soap_services),
                     "rest_services": list(a.rest_services)}
            for a, port in zip(topology.adapters, ports.adapters, strict=True)},
        "demo_client": {"subsystem": str(topology.portal),
                        "security_server": str(servers(ports, topology)[0].id)},
        "trust_services": {"ca_certs": str(layout.pki / "ca-chain.pem"),
                           "ocsp_url": f"http://127.0.0.1:{ports.ocsp}",
                           "tsa_url": f"http://127.0.0.1:{ports.tsa}"},
        "data_dir": str(layout.root),
    }
    if _portal_env(ports, topology) is not None:
        doc["portal"] = {"url": f"http://127.0.0.1:{ports.portal}"}
    doc["ui"] = {"url": f"http://127.0.0.1:{ports.console}"}
    tmp = layout.root / "instance.json.tmp"
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(layout.root / "instance.json")


def _banner(layout: DemoLayout, ports: DemoPorts, topology: DemoTopology) -> None:
    consumer = servers(ports, topology)[0]
    client_url = f"http://127.0.0.1:{consumer.client_port}"
    typer.echo(f"""
The demo instance {topology.instance} is ready.

  central server            http://127.0.0.1:{ports.central}   (global configuration: /globalconf)
  central admin API         http://127.0.0.1:{ports.central}/api/v1 (OpenAPI: /docs); keys in \
{layout.central}/: admin-api-key, officer-api-key, auditor-api-key
""" + "\n".join(
        f"  security server {s.id!s:<20} client {'http://127.0.0.1:' + str(s.client_port):<24}"
        f" server https://127.0.0.1:{s.server_port}" for s in servers(ports, topology))
        + "\n" + "\n".join(
        f"  {a.name} registry ({a.subsystem})  http://127.0.0.1:{p}"
        for a, p in zip(topology.adapters, ports.adapters, strict=True)) + f"""

  dev PKI OCSP responder    http://127.0.0.1:{ports.ocsp}
  dev PKI time-stamping     http://127.0.0.1:{ports.tsa}   (RFC 3161)
  admin API (access rights) {", ".join(f"http://127.0.0.1:{s.admin_port}"
                                       for s in servers(ports, topology))}
                            API keys in {layout.root}/ss/<server>/: admin-api-key,
                            observer-api-key, auditor-api-key, data-access-api-key
{_portal_line(ports, topology)}{_console_line(layout, ports)}\
  instance description      {layout.root / 'instance.json'}
  logs                      {layout.logs}/
{_examples(client_url, topology)}
Press Ctrl-C to stop.""")


def _console_line(layout: DemoLayout, ports: DemoPorts) -> str:
    """The console's address and the demo administrator's sign-in (generated on first run;
    every demo account is in the credentials file)."""
    admin = read_credentials(layout.console).get("admin", {})
    return (f"  web console               http://127.0.0.1:{ports.console}   user admin, "
            f"password {admin.get('password', '?')}\n"
            f"                            (every demo account: "
            f"{layout.console / CREDENTIALS_FILE})\n")


def _portal_line(ports: DemoPorts, topology: DemoTopology) -> str:
    if _portal_env(ports, topology) is None:
        return ""
    return (f"  citizen portal            http://127.0.0.1:{ports.portal}   (JSON: "
            f"/api/profile/{quote(DEMO_PERSON, safe='')})\n")


def _examples(client_url: str, topology: DemoTopology) -> str:
    """Copy-paste requests from the demo client to the first registry (SOAP: MN's only)."""
    if not topology.adapters or not topology.adapters[0].rest_services:
        return ""
    civil = topology.adapters[0]
    rest_url = (f"{client_url}/r1/{civil.subsystem}/{civil.rest_services[0]}/"
                f"{quote(DEMO_PERSON, safe='')}")
    text = f"""
Try it (REST, X-Road message protocol r1):

  curl -H 'X-Road-Client: {topology.portal}' \\
    '{rest_url}'
"""
    if topology != MN_DEMO:  # the SOAP example names MN's identifiers
        return text
    # A fresh message id per paste: a security server refuses a reused one (replay).
    soap = SOAP_EXAMPLE.format(person=DEMO_PERSON).replace(
        "demo-0001", "$(cat /proc/sys/kernel/random/uuid)")
    return text + f"""
Try it (SOAP, X-Road message protocol 4.0):

  curl -H 'Content-Type: text/xml; charset=utf-8' --data-binary @- {client_url}/ <<EOF
{soap}EOF
"""


SOAP_EXAMPLE = """<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:xrd="http://x-road.eu/xsd/xroad.xsd" xmlns:id="http://x-road.eu/xsd/identifiers">
  <SOAP-ENV:Header>
    <xrd:client id:objectType="SUBSYSTEM">
      <id:xRoadInstance>MN</id:xRoadInstance><id:memberClass>GOV</id:memberClass>
      <id:memberCode>EMONGOLIA</id:memberCode><id:subsystemCode>portal</id:subsystemCode>
    </xrd:client>
    <xrd:service id:objectType="SERVICE">
      <id:xRoadInstance>MN</id:xRoadInstance><id:memberClass>GOV</id:memberClass>
      <id:memberCode>GASR</id:memberCode><id:subsystemCode>civil-registry</id:subsystemCode>
      <id:serviceCode>getPerson</id:serviceCode><id:serviceVersion>v1</id:serviceVersion>
    </xrd:service>
    <xrd:id>demo-0001</xrd:id>
    <xrd:userId>MN{person}</xrd:userId>
    <xrd:issue>citizen portal: view own record</xrd:issue>
    <xrd:protocolVersion>4.0</xrd:protocolVersion>
  </SOAP-ENV:Header>
  <SOAP-ENV:Body>
    <civ:getPerson xmlns:civ="http://civil.gov.mn/xroad">
      <civ:registerNumber>{person}</civ:registerNumber>
    </civ:getPerson>
  </SOAP-ENV:Body>
</SOAP-ENV:Envelope>
"""
