"""`xroad pki issue`: certificates from CSRs with the dev PKI, for `xroad keys import-cert`."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from keys.devpki import ensure_dev_ca, load_dev_ca, new_key
from xroad.cli.main import app
from xroad.signing.profile import member_of_signing_cert

PIN = "pki-test-pin"  # TEST ONLY


def _csr(path: Path, *attributes: x509.NameAttribute) -> Path:
    key = new_key()
    csr = (x509.CertificateSigningRequestBuilder().subject_name(x509.Name(list(attributes)))
           .sign(key, hashes.SHA256()))
    path.write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.fixture
def data_dir(tmp_path):
    ensure_dev_ca(tmp_path / "pki", "LA", PIN, datetime.now(UTC))
    return tmp_path


def test_signing_and_authentication_certificates_are_issued(data_dir, monkeypatch):
    monkeypatch.setenv("XROAD_PKI_TOKEN_PIN", PIN)
    sign = _csr(data_dir / "sign.csr", x509.NameAttribute(NameOID.SERIAL_NUMBER, "LA/GOV/MOHA"),
                x509.NameAttribute(NameOID.COMMON_NAME, "MOHA"))
    auth = _csr(data_dir / "auth.csr", x509.NameAttribute(NameOID.COMMON_NAME, "LA/GOV/MOHA/ss1"))
    result = CliRunner().invoke(app, ["pki", "issue", str(sign), str(auth), "--data-dir",
                                      str(data_dir), "--ocsp-url", "http://127.0.0.1:8888"])
    assert result.exit_code == 0, result.output
    issued = {p.stem: x509.load_pem_x509_certificates(p.read_bytes())
              for p in (data_dir / "sign.pem", data_dir / "auth.pem")}
    assert str(member_of_signing_cert(issued["sign"][0])) == "LA/GOV/MOHA"
    assert issued["auth"][0].subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "LA/GOV/MOHA/ss1")
    assert len(issued["auth"]) == 3  # with the issuing and root CA
    ca = load_dev_ca(data_dir / "pki", PIN)
    assert {c.serial for c in ca.index.all()} >= {c[0].serial_number for c in issued.values()}


def test_a_csr_naming_nobody_or_with_a_bad_signature_is_refused(data_dir, monkeypatch):
    monkeypatch.setenv("XROAD_PKI_TOKEN_PIN", PIN)
    nobody = _csr(data_dir / "nobody.csr", x509.NameAttribute(NameOID.ORGANIZATION_NAME, "X"))
    result = CliRunner().invoke(app, ["pki", "issue", str(nobody), "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    assert "names neither a member" in result.output
    garbage = data_dir / "garbage.csr"
    garbage.write_text("not a CSR")
    result = CliRunner().invoke(app, ["pki", "issue", str(garbage), "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    assert "garbage.csr" in result.output
    assert not (data_dir / "nobody.pem").exists()
