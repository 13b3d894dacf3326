"""docs/new-instance.md as a test: the e-Laos procedure, from `xroad init` to the first exchange,
with the operator's own commands run as processes.

The central server's operator creates instance LA with a dev PKI and starts its components from
the scripts `init` wrote; two agencies (MOHA provides a REST service, MOF consumes it) make keys
and CSRs, get certificates from `xroad pki issue`, import them, describe their server and ask to
be registered (`xroad server register`), which the operator approves. Both security servers
start, MOHA grants the tax office access, and the tax office's call through MOF's security
server returns MOHA's record; both audit logs hold the exchange, export, verify and agree.

Nothing is written into any database by hand. Two settings differ from the guide, to keep the
run short: the security servers seal audit checkpoints every second (not every minute) and
refresh global configuration every two seconds. Loopback and free ports only; every wait is a
poll with a deadline; every process is stopped (by process group) at the end.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from xroad.globalconf import trust
from xroad.globalconf.anchor import ConfigurationAnchor
from xroad.globalconf.model import GlobalConf
from xroad.identifiers import ClientId

pytestmark = pytest.mark.e2e

BUDGET_S = 120.0  # the whole procedure
START_S = 30.0  # one component, from start to healthy
COMMAND_S = 60.0  # one xroad command
CONF_S = 30.0  # approvals reaching both security servers
AUDIT_S = 30.0  # the exchange in a sealed, time-stamped checkpoint

PERSON = {"personalNumber": "1234567890", "givenName": "Khamla", "familyName": "Phommavong"}
SERVICE = "LA/GOV/MOHA/population-registry/persons"


def _free_ports(count: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < count:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.add(s.getsockname()[1])
    return sorted(ports)


def _environment(**extra: str) -> dict[str, str]:
    """The caller's environment without any XROAD_* setting (PINs, URLs), plus `extra`."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("XROAD_")}, **extra}


def xroad(*args: str, cwd: Path, **env: str) -> str:
    """One `xroad` command as the operator types it; its standard output."""
    done = subprocess.run([sys.executable, "-m", "xroad.cli.main", *args], cwd=cwd,
                          env=_environment(**env), capture_output=True, text=True,
                          timeout=COMMAND_S, check=False)
    if done.returncode != 0:
        pytest.fail(f"xroad {' '.join(args)} exited {done.returncode}:\n"
                    f"{done.stdout}{done.stderr}")
    return done.stdout


def _request_id(output: str, kind: str) -> int:
    found = re.search(rf"^request (\d+) \({kind} of .*: submitted", output, re.MULTILINE)
    assert found, output
    return int(found[1])


class Processes:
    """The long-running components (each in its own process group), and polls with deadlines."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, argv: list[str], *, cwd: Path, env: dict[str, str]) -> None:
        with (self.log_dir / f"{name}.log").open("wb") as out:
            self.running[name] = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out,
                                                  stderr=subprocess.STDOUT,
                                                  stdin=subprocess.DEVNULL,
                                                  start_new_session=True)

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")[-4000:]

    def wait(self, what: str, ready: Callable[[], bool], deadline_s: float,
             watch: tuple[str, ...] = ()) -> None:
        """Poll `ready` (HTTP errors count as not ready) until true; fail with the logs of the
        `watch`ed processes if one exits or time runs out."""
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            for name in watch:
                if self.running[name].poll() is not None:
                    pytest.fail(f"{name} exited while waiting for {what}:\n{self.log(name)}")
            try:
                if ready():
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        logs = "\n".join(f"--- {name}\n{self.log(name)}" for name in watch)
        pytest.fail(f"no {what} after {deadline_s} s\n{logs}")

    def stop(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    (tmp_path / "logs").mkdir()
    running = Processes(tmp_path / "logs")
    try:
        yield running
    finally:
        running.stop()


def _healthy(url: str) -> Callable[[], bool]:
    return lambda: httpx.get(url, timeout=2.0).status_code == 200


@dataclass(frozen=True)
class Agency:
    """One agency's security server, set up in its own directory as in section 5."""

    code: str
    subsystem: str
    pin: str
    client_port: int
    server_port: int
    root: Path
    central_url: str

    @property
    def member(self) -> str:
        return f"LA/GOV/{self.code}"

    @property
    def server(self) -> str:
        return f"{self.member}/ss1"

    @property
    def client(self) -> str:
        return f"{self.member}/{self.subsystem}"

    @property
    def server_dir(self) -> str:
        return f"ss/LA_GOV_{self.code}_ss1"

    @property
    def token(self) -> str:
        return f"{self.server_dir}/token"

    @property
    def sign_label(self) -> str:
        return f"sign-LA_GOV_{self.code}"

    @property
    def address(self) -> str:
        return f"https://127.0.0.1:{self.server_port}"

    def health(self) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(f"http://127.0.0.1:{self.client_port}/health",
                                           timeout=2.0).json()
        return answer

    def ready(self) -> bool:
        return bool(self.health()["status"] == "ok")

    def xroad(self, *args: str) -> str:
        return xroad(*args, cwd=self.root, XROAD_TOKEN_PIN=self.pin)

    def keys_and_csrs(self, instance_dir: Path) -> None:
        """5.1 and 5.2: directory, anchor, CA certificates; keys and CSRs."""
        (self.root / self.server_dir).mkdir(parents=True)
        shutil.copy(instance_dir / "anchor-LA.json", self.root)
        shutil.copy(instance_dir / "ca-certs.pem", self.root / self.server_dir / "ca-chain.pem")
        out = self.xroad("keys", "generate", "--kind", "auth", "--server", self.server,
                         "--label", "auth", "--token-dir", self.token)
        assert out == f"generated SHA512withECDSA key 'auth' for {self.server}\n"
        self.xroad("keys", "generate", "--kind", "sign", "--member", self.member,
                   "--label", self.sign_label, "--token-dir", self.token)
        out = self.xroad("keys", "csr", "--label", "auth", "--server", self.server,
                         "--out", "auth.csr", "--token-dir", self.token)
        assert out == f"wrote CSR for CN={self.server},O={self.code},C=LA to auth.csr\n"
        self.xroad("keys", "csr", "--label", self.sign_label, "--member", self.member,
                   "--out", "sign.csr", "--token-dir", self.token)

    def import_and_register(self, serverconf: str) -> int:
        """5.3 (import), 5.4 and the first half of 5.5; the request's number."""
        self.xroad("keys", "import-cert", "--label", "auth", "auth.pem", "--server",
                   self.server, "--token-dir", self.token)
        self.xroad("keys", "import-cert", "--label", self.sign_label, "sign.pem", "--member",
                   self.member, "--token-dir", self.token)
        (self.root / self.server_dir / "serverconf.toml").write_text(serverconf)
        seed = self.root / self.token / "encryption.seed"
        assert not seed.exists()
        out = self.xroad("server", "register", "--data-dir", str(self.root),
                         "--central-url", self.central_url)
        assert seed.exists(), "register makes the message-encryption seed on first use"
        return _request_id(out, "auth-cert-registration")

    def register_address_and_client(self) -> list[int]:
        """5.5, once the authentication certificate is approved."""
        out = self.xroad("server", "register", "--data-dir", str(self.root),
                         "--central-url", self.central_url, "--address", self.address)
        assert out.startswith("authentication certificate: that authentication certificate "
                              "is registered already\n"), out
        address = _request_id(out, "address-change")
        out = self.xroad("server", "register", "--data-dir", str(self.root),
                         "--central-url", self.central_url, "--client", self.client)
        return [address, _request_id(out, "client-registration")]

    def serve(self, processes: Processes) -> None:
        """Section 7: `xroad serve security-server` with the guide's settings."""
        env = _environment(
            XROAD_SS_SERVER_ID=self.server, XROAD_SS_DATA_DIR=self.server_dir,
            XROAD_SS_ANCHOR_PATH="anchor-LA.json", XROAD_SS_TOKEN_PIN=self.pin,
            XROAD_SS_CLIENT_PORT=str(self.client_port),
            XROAD_SS_SERVER_PORT=str(self.server_port),
            XROAD_SS_AUDIT_CHECKPOINT_S="1", XROAD_SS_GLOBALCONF_REFRESH_S="2")
        processes.start(f"ss-{self.code}", [sys.executable, "-m", "xroad.cli.main", "serve",
                                            "security-server"], cwd=self.root, env=env)

    def audit_bundle(self, message_id: str, processes: Processes) -> Path:
        """Section 10: export up to the newest time-stamped checkpoint, once it holds both
        records of the exchange (request and response); then verify it offline."""
        attempt = 0
        bundle = self.root / "first-exchange"

        def sealed() -> bool:
            nonlocal attempt, bundle
            attempt += 1
            bundle = self.root / f"first-exchange-{attempt}"
            done = subprocess.run(
                [sys.executable, "-m", "xroad.cli.main", "audit", "export", "--no-seal",
                 "--data-dir", str(self.root), "--out", bundle.name], cwd=self.root,
                env=_environment(XROAD_TOKEN_PIN=self.pin), capture_output=True, text=True,
                timeout=COMMAND_S, check=False)
            if done.returncode != 0:  # no time-stamped checkpoint yet
                return False
            return {("request", message_id), ("response", message_id)} <= _records(bundle)

        processes.wait(f"{self.server}'s audit checkpoint with the exchange", sealed, AUDIT_S,
                       watch=(f"ss-{self.code}",))
        verified = self.xroad("audit", "verify", bundle.name, "--log-key",
                              f"{self.server_dir}/audit-log.pub")
        assert verified.startswith(f"Evidence bundle {bundle.name}: intact\n"), verified
        assert f"  server              {self.server}\n" in verified
        return bundle


def _records(bundle: Path) -> set[tuple[str, str]]:
    lines = (bundle / "records.jsonl").read_text().splitlines()
    leaves = [json.loads(base64.b64decode(json.loads(line)["leaf"])) for line in lines]
    return {(leaf["kind"], leaf["message_id"]) for leaf in leaves}


def _conf(central_url: str, anchor: ConfigurationAnchor) -> GlobalConf:
    """The central server's current global configuration, verified against the anchor."""
    signed = httpx.get(f"{central_url}/globalconf", timeout=5.0).content
    return trust.accept(signed, "LA", trust.TrustedKeys.from_anchor(anchor), None,
                        datetime.now(UTC)).conf


def test_new_instance_procedure(tmp_path: Path, processes: Processes) -> None:
    started = time.monotonic()
    (central_port, ocsp_port, tsa_port, registry_port,
     moha_client, moha_server, mof_client, mof_server) = _free_ports(8)
    central_url = f"http://127.0.0.1:{central_port}"
    la = tmp_path / "la"

    # 1. Create the instance.
    made = xroad("init", "--instance", "LA", "--name", "Lao PDR", "--member-classes", "GOV,COM",
                 "--first-member", "GOV/MOHA", "--first-member-name", "Ministry of Home Affairs",
                 "--data-dir", str(la), "--central-url", central_url,
                 "--ocsp-url", f"http://127.0.0.1:{ocsp_port}",
                 "--tsa-url", f"http://127.0.0.1:{tsa_port}", cwd=tmp_path)
    assert f"Instance LA (Lao PDR) is ready in {la}" in made

    # 2. Start the OCSP responder, TSA and central server from the scripts init wrote.
    components = {"ocsp": ocsp_port, "tsa": tsa_port, "central": central_port}
    for name in components:
        processes.start(name, [str(la / f"start-{name}.sh")], cwd=la, env=_environment())
    for name, port in components.items():
        processes.wait(f"healthy {name}", _healthy(f"http://127.0.0.1:{port}/health"), START_S,
                       watch=(name,))
    assert httpx.get(f"{central_url}/health", timeout=5.0).json() == {"status": "ok",
                                                                      "instance": "LA"}

    # 3. Members and subsystems.
    assert xroad("member", "add", "LA/GOV/MOF", "--name", "Ministry of Finance",
                 "--data-dir", str(la), cwd=la) == "registered member LA/GOV/MOF " \
                                                   "(Ministry of Finance)\n"
    xroad("subsystem", "add", "LA/GOV/MOHA/population-registry", "--data-dir", str(la), cwd=la)
    xroad("subsystem", "add", "LA/GOV/MOF/tax-office", "--data-dir", str(la), cwd=la)

    # 4. The anchor the agencies receive is the one init announced.
    anchor_bytes = (la / "anchor-LA.json").read_bytes()
    announced = json.loads((la / "instance.json").read_text())["anchor"]["sha256"]
    assert hashlib.sha256(anchor_bytes).hexdigest() == announced
    assert f"anchor SHA-256        {announced}" in made

    # 5. Each agency's security server (on their own machines: in parallel).
    moha = Agency("MOHA", "population-registry", "moha-trial-pin", moha_client, moha_server,
                  tmp_path / "moha", central_url)
    mof = Agency("MOF", "tax-office", "mof-trial-pin", mof_client, mof_server, tmp_path / "mof",
                 central_url)
    agencies = (moha, mof)
    with ThreadPoolExecutor(len(agencies)) as pool:
        list(pool.map(lambda a: a.keys_and_csrs(la), agencies))

        # 5.3: the central server's operator issues the four certificates from the CSRs.
        csrs = [str(a.root / f"{kind}.csr") for a in agencies for kind in ("auth", "sign")]
        issued = xroad("pki", "issue", *csrs, "--data-dir", str(la), cwd=la,
                       XROAD_PKI_TOKEN_PIN=(la / "secrets" / "token-pin").read_text().strip())
        assert re.findall(r"^issued (.*) \(serial [0-9a-f]+\) -> (.*)$", issued, re.MULTILINE) == [
            ("CN=LA/GOV/MOHA/ss1,O=MOHA,C=LA", str(moha.root / "auth.pem")),
            ("2.5.4.5=LA/GOV/MOHA,CN=MOHA,O=GOV,C=LA", str(moha.root / "sign.pem")),
            ("CN=LA/GOV/MOF/ss1,O=MOF,C=LA", str(mof.root / "auth.pem")),
            ("2.5.4.5=LA/GOV/MOF,CN=MOF,O=GOV,C=LA", str(mof.root / "sign.pem"))]

        serverconfs = {
            moha: f'server_id = "{moha.server}"\n\n[[clients]]\nid = "{moha.client}"\n\n'
                  f'[[services]]\nprovider = "{moha.client}"\ncode = "persons"\n'
                  f'type = "REST"\nurl = "http://127.0.0.1:{registry_port}/persons"\n',
            mof: f'server_id = "{mof.server}"\n\n[[clients]]\nid = "{mof.client}"\n'}
        auth_requests = list(pool.map(lambda a: a.import_and_register(serverconfs[a]), agencies))

        # 6. The operator approves; then the agencies send the address and client requests.
        for request in auth_requests:
            assert xroad("registration", "approve", str(request), "--data-dir", str(la),
                         cwd=la).startswith(f"approved: {request:>4}  approved ")
        more = [r for rs in pool.map(Agency.register_address_and_client, agencies) for r in rs]
    for request in more:
        xroad("registration", "approve", str(request), "--data-dir", str(la), cwd=la)
    assert xroad("registration", "list", "--status", "submitted", "--data-dir", str(la),
                 cwd=la) == "no registration requests\n"

    # 5.4: MOHA's population registry, a file server with one JSON document.
    (moha.root / "registry" / "persons").mkdir(parents=True)
    (moha.root / "registry" / "persons" / "1234567890.json").write_text(json.dumps(PERSON))
    processes.start("registry", [sys.executable, "-m", "http.server", str(registry_port),
                                 "--bind", "127.0.0.1", "--directory", "registry"],
                    cwd=moha.root, env=_environment())
    processes.wait("registry", _healthy(
        f"http://127.0.0.1:{registry_port}/persons/1234567890.json"), START_S,
        watch=("registry",))

    # 7. Start both security servers.
    for agency in agencies:
        agency.serve(processes)
    for agency in agencies:
        processes.wait(f"healthy {agency.server}", agency.ready, START_S,
                       watch=(f"ss-{agency.code}",))

    # 8. MOHA grants the tax office access.
    assert moha.xroad("acl", "grant", "--data-dir", str(moha.root), "--subject", mof.client,
                      "--service", SERVICE, "--method", "GET", "--path", "/*") == \
        f"granted: {mof.client} -> {SERVICE} GET /*\n"

    # Both servers hold a configuration naming each other (address, client, encryption keys).
    anchor = ConfigurationAnchor.decode(anchor_bytes)
    published: list[int] = []

    def central_names_both() -> bool:
        conf = _conf(central_url, anchor)
        for agency in agencies:
            hosts = conf.servers_hosting(ClientId.parse(agency.client))
            if [h.address for h in hosts] != [agency.address] or not hosts[0].encryption_keys:
                return False
        published.append(conf.version)
        return True

    processes.wait("central configuration naming both servers", central_names_both, CONF_S,
                   watch=("central",))

    def servers_have_it() -> bool:
        return all(a.health()["globalconf"]["version"] >= published[-1] for a in agencies)

    processes.wait(f"configuration version {published[-1]} on both servers", servers_have_it,
                   CONF_S, watch=("ss-MOHA", "ss-MOF"))

    # 9. The first exchange: the tax office calls through its own security server. The access
    # right takes effect within a second: only AccessDenied is retried, until then.
    url = (f"http://127.0.0.1:{mof.client_port}/r1/{SERVICE}/1234567890.json")
    answers: list[httpx.Response] = []

    def answered() -> bool:
        answers.append(httpx.get(url, headers={"X-Road-Client": mof.client}, timeout=30.0))
        return "AccessDenied" not in answers[-1].headers.get("X-Road-Error", "")

    processes.wait("an answer other than AccessDenied", answered, 10.0,
                   watch=("ss-MOHA", "ss-MOF", "registry"))
    answer = answers[-1]
    assert answer.status_code == 200, (answer.text, processes.log("ss-MOF"),
                                       processes.log("ss-MOHA"))
    assert answer.json() == PERSON
    assert answer.headers["X-Road-Client"] == mof.client
    assert answer.headers["X-Road-Service"] == SERVICE
    assert answer.headers["X-Road-Request-Hash"]
    message_id = answer.headers["X-Road-Id"]

    # 10. Both audit logs hold the exchange; the bundles verify and agree.
    bundles = [agency.audit_bundle(message_id, processes) for agency in agencies]
    assert xroad("audit", "reconcile", *map(str, bundles), cwd=tmp_path).endswith(
        "the logs agree\n")

    elapsed = time.monotonic() - started
    assert elapsed < BUDGET_S, f"the procedure took {elapsed:.0f} s"
