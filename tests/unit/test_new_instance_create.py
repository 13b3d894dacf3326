"""`create_instance` on disk: what a new instance holds, the start scripts' PIN handling, and
all-or-nothing refusals (no processes; `tests/e2e/test_new_instance.py` starts them)."""

import json
import os
import stat
import subprocess
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from sqlalchemy import create_engine

from keys.certs import pem
from keys.devpki import DevCa
from keys.token import SoftwareToken
from tests.unit.conftest import PIN
from xroad.central.admin_auth import ApiKeyStore, Credentials
from xroad.central.keys import CONF_SIGNING_LABEL
from xroad.central.roles import Role
from xroad.central.service import Registry
from xroad.clock import FixedClock
from xroad.globalconf.anchor import ConfigurationAnchor
from xroad.newinstance import CertFile, InitOptions, InitRefused, plan_instance
from xroad.newinstance import create as create_module
from xroad.newinstance.create import create_instance
from xroad.newinstance.summary import CreatedInstance, render_summary

LA = InitOptions(instance="LA", name="Lao PDR", member_classes="GOV,COM",
                 first_member="GOV/MOHA", first_member_name="Ministry of Home Affairs")


def _create(target: Path, at: datetime, options: InitOptions = LA, pin: str | None = None
            ) -> tuple[CreatedInstance, list[str]]:
    lines: list[str] = []
    created = create_instance(plan_instance(options, at), target, pin=pin, at=at,
                              xroad="/opt/xroad/bin/xroad", progress=lines.append)
    return created, lines


def _snapshot(root: Path, at: datetime):
    engine = create_engine(f"sqlite:///{root / 'central' / 'central.db'}")
    try:
        return Registry(engine, "LA").snapshot(1, at, timedelta(minutes=10))
    finally:
        engine.dispose()


def test_a_dev_pki_instance_holds_everything_and_names_its_final_place(
        tmp_path: Path, at: datetime) -> None:
    target = tmp_path / "srv" / "la"
    created, lines = _create(target, at)
    assert sorted(p.name for p in target.parent.iterdir()) == ["la"]  # no temporary left
    assert any(line.startswith("dev PKI (TEST ONLY): LA Dev Root CA") for line in lines)
    conf = _snapshot(target, at)
    assert conf.member_classes == ("COM", "GOV")
    assert [(str(m.id), m.name) for m in conf.members] == [
        ("LA/GOV/MOHA", "Ministry of Home Affairs")]
    assert [c.subject.rfc4514_string() for c in conf.approved_cas] == [
        "CN=LA Dev Root CA,O=LA X-Road test PKI,C=LA",
        "CN=LA Dev Issuing CA,O=LA X-Road test PKI,C=LA"]
    assert {url for _, url in conf.ocsp_responders} == {"http://127.0.0.1:8888"}

    anchor = ConfigurationAnchor.decode((target / "anchor-LA.json").read_bytes())
    assert (anchor.instance, anchor.download_url) == ("LA", "http://127.0.0.1:4000/globalconf")
    signing = SoftwareToken(target / "central" / "token").unlock(CONF_SIGNING_LABEL,
                                                                (target / "secrets" /
                                                                 "token-pin").read_text().strip())
    assert anchor.verification_certs == (signing.certificate,)
    assert signing.certificate.issuer == conf.approved_cas[1].subject  # dev-CA issued

    for private in ("secrets/token-pin", "central/admin-api-key",
                    "central/token/conf-signing.key.pem", "pki/issuing-ca.key.pem"):
        assert stat.S_IMODE((target / private).stat().st_mode) == 0o600, private
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    env = (target / "env" / "central.env").read_text()
    assert f"XROAD_CS_DATA_DIR={target / 'central'}\n" in env
    assert "XROAD_CS_TSA_URLS='[\"http://127.0.0.1:8899\"]'\n" in env
    assert "PIN=" not in env
    assert ".init-" not in env
    assert (target / "env" / "ocsp.env").read_text().endswith(f"XROAD_PKI_DIR={target / 'pki'}\n")
    doc = json.loads((target / "instance.json").read_text())
    assert doc["central_server"]["url"] == "http://127.0.0.1:4000"
    assert doc["trust_services"]["tsa_url"] == "http://127.0.0.1:8899"
    assert (target / "NEXT-STEPS.txt").read_text() == render_summary(created) + "\n"


def test_the_first_administrator_key_works(tmp_path: Path, at: datetime) -> None:
    _create(tmp_path / "la", at)
    engine = create_engine(f"sqlite:///{tmp_path / 'la' / 'central' / 'central.db'}")
    token = (tmp_path / "la" / "central" / "admin-api-key").read_text().strip()
    found = ApiKeyStore(engine, FixedClock(at)).authenticate(Credentials("api-key", token))
    engine.dispose()
    assert found is not None
    assert found.role is Role.ADMINISTRATOR


def test_imported_ca_and_tsa_no_ca_keys_and_a_self_signed_signing_key(
        tmp_path: Path, ca: DevCa, at: datetime) -> None:
    tsa = ca.ensure_tsa_signer(PIN, at).certificate
    options = replace(LA, ca_certs=(CertFile("ca.pem", pem([ca.root, ca.issuing])),),
                      ocsp_urls=("http://ocsp.gov.la",), tsa_urls=("http://tsa.gov.la",),
                      tsa_certs=(CertFile("tsa.pem", pem([tsa])),))
    created, lines = _create(tmp_path / "la", at, options, pin="operator-pin")
    root = tmp_path / "la"
    assert not (root / "pki").exists()
    assert not (root / "secrets" / "token-pin").exists()  # the operator's PIN is not stored
    assert sorted(p.name for p in (root / "env").iterdir()) == ["central.env"]
    assert "importing 2 CA certificate(s)" in lines[0]
    conf = _snapshot(root, at)
    assert conf.approved_cas == (ca.root, ca.issuing)
    assert {url for _, url in conf.ocsp_responders} == {"http://ocsp.gov.la"}
    signing = SoftwareToken(root / "central" / "token").unlock(CONF_SIGNING_LABEL,
                                                              "operator-pin").certificate
    assert signing.issuer == signing.subject  # self-signed: no CA key here
    assert (root / "ca-certs.pem").read_bytes() == pem([ca.root, ca.issuing])
    summary = render_summary(created)
    assert "the one in XROAD_TOKEN_PIN (not stored" in summary
    assert "TEST ONLY" not in summary


def _run_script(root: Path, name: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    fake = root.parent / "fake-xroad"
    fake.write_text('#!/bin/sh\necho "args=$*"\necho "pin=$XROAD_CS_TOKEN_PIN'
                    '$XROAD_PKI_TOKEN_PIN"\necho "dir=$XROAD_CS_DATA_DIR$XROAD_PKI_DIR"\n')
    fake.chmod(0o755)
    return subprocess.run([str(root / f"start-{name}.sh")], capture_output=True, text=True,
                          env={"PATH": os.environ["PATH"], "XROAD": str(fake), **env},
                          timeout=10, check=False)


def test_start_scripts_hand_the_pin_to_the_component(tmp_path: Path, at: datetime) -> None:
    _create(tmp_path / "la", at)
    root = tmp_path / "la"
    stored = (root / "secrets" / "token-pin").read_text().strip()
    ran = _run_script(root, "central", {})
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == ["args=serve central", f"pin={stored}",
                                       f"dir={root / 'central'}"]
    ran = _run_script(root, "tsa", {"XROAD_TOKEN_PIN": "from-env"})
    assert ran.stdout.splitlines() == ["args=serve tsa --host 127.0.0.1 --port 8899",
                                       "pin=from-env", f"dir={root / 'pki'}"]


def test_a_pin_given_to_init_must_be_given_to_the_scripts(tmp_path: Path, at: datetime) -> None:
    _create(tmp_path / "la", at, pin="operator-pin")
    ran = _run_script(tmp_path / "la", "ocsp", {})
    assert (ran.returncode, ran.stdout) == (1, "")
    assert "set XROAD_TOKEN_PIN to the token PIN given to xroad init" in ran.stderr
    assert _run_script(tmp_path / "la", "ocsp",
                       {"XROAD_TOKEN_PIN": "operator-pin"}).stdout.startswith("args=serve ocsp")


def test_a_non_empty_directory_or_a_file_is_refused_untouched(tmp_path: Path,
                                                              at: datetime) -> None:
    (tmp_path / "la").mkdir()
    (tmp_path / "la" / "keep.txt").write_text("mine")
    with pytest.raises(InitRefused, match="exists and is not empty"):
        _create(tmp_path / "la", at)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InitRefused, match="exists and is not a directory"):
        _create(tmp_path / "file", at)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "la"]
    assert [p.name for p in (tmp_path / "la").iterdir()] == ["keep.txt"]


def test_an_empty_directory_is_used(tmp_path: Path, at: datetime) -> None:
    (tmp_path / "la").mkdir()
    _create(tmp_path / "la", at)
    assert (tmp_path / "la" / "anchor-LA.json").is_file()


def test_a_failure_half_way_leaves_nothing(tmp_path: Path, at: datetime,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(create_module, "approve_tsa", broken)
    with pytest.raises(OSError, match="No space left"):
        _create(tmp_path / "la", at)
    assert list(tmp_path.iterdir()) == []


def test_identifiers_in_the_summary(tmp_path: Path, at: datetime) -> None:
    created, _ = _create(tmp_path / "la", at)
    summary = render_summary(created)
    anchor_hash = json.loads((tmp_path / "la" / "instance.json").read_text())["anchor"]["sha256"]
    assert f"anchor SHA-256        {anchor_hash}" in summary
    assert str(tmp_path / "la" / "start-central.sh") in summary
    assert len(x509.load_pem_x509_certificates((tmp_path / "la" / "ca-certs.pem")
                                               .read_bytes())) == 2
    assert "Instance LA (Lao PDR) is ready in" in summary
