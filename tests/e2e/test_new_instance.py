"""The e-Laos scenario's first step: `xroad init` makes instance LA, and the components started
by the scripts it wrote serve what a security server needs: a signed global configuration that
verifies against the anchor init wrote (and not against another instance's), a working OCSP
responder and TSA. Loopback only; every process is stopped at the end."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from typer.testing import CliRunner

from keys.ocsp import fetch_ocsp
from keys.tsa import request_timestamp
from xroad.cli.main import app
from xroad.demo.bootstrap import DemoLayout, bootstrap
from xroad.demo.topology import DEFAULT_PORTS
from xroad.errors import OutdatedGlobalConf
from xroad.globalconf import trust
from xroad.globalconf.anchor import ConfigurationAnchor
from xroad.globalconf.refresh import GlobalConfClient
from xroad.identifiers import ClientId
from xroad.signing.ocsp import check_ocsp
from xroad.signing.timestamp import verify_timestamp

pytestmark = pytest.mark.e2e

STARTUP_S = 30.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _xroad(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "XROAD_TOKEN_PIN"}
    return subprocess.run([sys.executable, "-m", "xroad.cli.main", *args], capture_output=True,
                          text=True, timeout=60, check=False, env={**clean, **(env or {})})


class Components:
    """The processes the start scripts run; stopped (by process group id) at the end."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, script: Path, health_url: str) -> None:
        log = self.log_dir / f"{script.stem}.log"
        with log.open("wb") as out:
            process = subprocess.Popen([str(script)], stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        self.running.append((script.stem, process))
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            assert process.poll() is None, f"{script.name} exited:\n{log.read_text()}"
            try:
                if httpx.get(health_url, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        pytest.fail(f"{script.name} not healthy after {STARTUP_S} s:\n{log.read_text()}")

    def stop(self) -> None:
        for _, process in reversed(self.running):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for _, process in self.running:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def components(tmp_path: Path) -> Iterator[Components]:
    running = Components(tmp_path)
    yield running
    running.stop()


def test_init_la_then_serve_and_verify_against_its_anchor(tmp_path: Path,
                                                          components: Components) -> None:
    started = time.monotonic()
    central, ocsp, tsa = _free_port(), _free_port(), _free_port()
    root = tmp_path / "la"
    made = _xroad("init", "--instance", "LA", "--name", "Lao PDR", "--member-classes", "GOV,COM",
                  "--data-dir", str(root), "--first-member", "GOV/MOHA",
                  "--first-member-name", "Ministry of Home Affairs",
                  "--central-url", f"http://127.0.0.1:{central}",
                  "--ocsp-url", f"http://127.0.0.1:{ocsp}", "--tsa-url", f"http://127.0.0.1:{tsa}")
    assert made.returncode == 0, made.stderr
    anchor_bytes = (root / "anchor-LA.json").read_bytes()
    assert f"anchor SHA-256        {hashlib.sha256(anchor_bytes).hexdigest()}" in made.stdout
    assert "  - central server database: schema" in made.stdout
    pin = (root / "secrets" / "token-pin").read_text().strip()
    assert pin not in made.stdout + made.stderr
    assert made.stderr == ""

    components.start(root / "start-ocsp.sh", f"http://127.0.0.1:{ocsp}/health")
    components.start(root / "start-tsa.sh", f"http://127.0.0.1:{tsa}/health")
    components.start(root / "start-central.sh", f"http://127.0.0.1:{central}/health")

    anchor = ConfigurationAnchor.decode(anchor_bytes)
    signed = httpx.get(anchor.download_url, timeout=10).content
    (tmp_path / "ss").mkdir()
    client = GlobalConfClient(anchor, tmp_path / "ss" / "globalconf.signed.json", _Now())
    conf = client.accept(signed)
    assert conf.instance == "LA"
    assert conf.member_classes == ("COM", "GOV")
    assert conf.member(ClientId("LA", "GOV", "MOHA")).name == "Ministry of Home Affairs"
    ca_certs = x509.load_pem_x509_certificates((root / "ca-certs.pem").read_bytes())
    assert list(conf.approved_cas) == ca_certs
    assert conf.ocsp_url_for(ca_certs[1]) == f"http://127.0.0.1:{ocsp}"
    assert conf.tsa_urls == (f"http://127.0.0.1:{tsa}",)

    # The dev PKI's services answer for what init issued.
    signing_cert, issuer, _ = x509.load_pem_x509_certificates(
        (root / "central" / "token" / "conf-signing.cert.pem").read_bytes())
    now = datetime.now(UTC)
    check_ocsp(fetch_ocsp(f"http://127.0.0.1:{ocsp}", signing_cert, issuer), signing_cert,
               issuer, ca_certs, now)
    digest = hashlib.sha512(b"first LA checkpoint").digest()
    verify_timestamp(request_timestamp(f"http://127.0.0.1:{tsa}", digest), digest, ca_certs, now)

    # Another instance's anchor (the MN demo's) does not verify LA's configuration.
    demo = DemoLayout(tmp_path / "mn")
    bootstrap(demo, DEFAULT_PORTS, "demo-pin", now)  # files only: nothing is started
    mn_anchor = ConfigurationAnchor.decode(demo.anchor.read_bytes())
    with pytest.raises(OutdatedGlobalConf, match="signed by a key not in the anchor"):
        GlobalConfClient(mn_anchor, tmp_path / "mn-cache.json", _Now()).accept(signed)
    # ... nor does LA's anchor vouch for a configuration named for MN.
    with pytest.raises(OutdatedGlobalConf, match="is for instance 'LA'"):
        trust.accept(signed, "MN", trust.TrustedKeys.from_anchor(anchor), None, now)
    assert time.monotonic() - started < 60


class _Now:
    def now(self) -> datetime:
        return datetime.now(UTC)


def test_init_refuses_a_non_empty_directory_as_a_process(tmp_path: Path) -> None:
    (tmp_path / "la").mkdir()
    (tmp_path / "la" / "central.db").write_text("someone's instance")
    refused = _xroad("init", "--instance", "LA", "--name", "Lao PDR", "--member-classes", "GOV",
                     "--data-dir", str(tmp_path / "la"))
    assert refused.returncode == 1
    assert refused.stderr == (f"error: {tmp_path / 'la'} exists and is not empty; give a new or "
                              f"empty directory (xroad init never changes an existing one)\n")
    assert "Traceback" not in refused.stdout + refused.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["la"]
    assert [p.name for p in (tmp_path / "la").iterdir()] == ["central.db"]


REFUSED = {
    "instance code": (["--instance", "L@"], "error: --instance: instance code 'L@' is outside "
                      "X-Road's identifier character set"),
    "member class": (["--member-classes", "GOV,C M"],
                     "error: --member-classes: member class 'C M' is outside"),
    "first member's class": (["--first-member", "NGO/X", "--first-member-name", "X"],
                             "error: --first-member: member class 'NGO' is not one of"),
    "central URL": (["--central-url", "https://cs.la/x"], "error: --central-url: 'https://"),
    "missing CA file": (["--ca-cert", "/nonexistent/ca.pem"],
                        "error: --ca-cert /nonexistent/ca.pem: No such file or directory"),
}


@pytest.mark.parametrize(("args", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_init_refuses_bad_options_with_one_line(args: list[str], message: str,
                                                tmp_path: Path) -> None:
    base = {"--instance": "LA", "--name": "Lao PDR", "--member-classes": "GOV,COM"}
    given = dict(zip(args[::2], args[1::2], strict=True))
    argv = [x for k, v in {**base, **given}.items() for x in (k, v)]
    result = CliRunner().invoke(app, ["init", *argv, "--data-dir", str(tmp_path / "la")],
                                env={"XROAD_TOKEN_PIN": ""})
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "la").exists()
    assert list(tmp_path.iterdir()) == []
