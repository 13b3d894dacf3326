"""`xroad keys ...` as an operator runs it: the whole CSR flow, and one-line errors."""

from datetime import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from typer.testing import CliRunner

from keys.certs import cert_sha256
from keys.devpki import DevCa
from keys.token import SoftwareToken
from xroad.cli.main import app
from xroad.identifiers import ClientId, SecurityServerId

PIN = "cli-pin"
MEMBER = ClientId("MN", "GOV", "GASR")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _keys(runner: CliRunner, *args: str, pin: str | None = PIN, stdin: str | None = None
          ) -> tuple[int, str, str]:
    env = {"XROAD_TOKEN_PIN": pin or ""}
    result = runner.invoke(app, ["keys", *args], env=env, input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_generate_csr_import_list_on_a_software_token(runner: CliRunner, tmp_path: Path,
                                                      ca: DevCa, at: datetime) -> None:
    token = ["--token-dir", str(tmp_path / "token")]
    code, out, _ = _keys(runner, "generate", "--kind", "sign", "--member", str(MEMBER),
                         "--label", "sign1", *token)
    assert (code, out.strip()) == (0, "generated SHA512withECDSA key 'sign1' for MN/GOV/GASR")
    code, out, _ = _keys(runner, "generate", "--kind", "auth", "--server", "MN/GOV/GASR/ss1",
                         "--algorithm", "rsa", *token)
    assert code == 0
    assert "SHA512withRSA key 'auth-MN_GOV_GASR_ss1-" in out

    csr_file = tmp_path / "sign1.csr.pem"
    code, out, _ = _keys(runner, "csr", "--label", "sign1", "--out", str(csr_file), *token)
    assert code == 0, out
    csr = x509.load_pem_x509_csr(csr_file.read_bytes())
    assert csr.is_signature_valid
    assert out.strip() == f"wrote CSR for 2.5.4.5=MN/GOV/GASR,CN=GASR,O=GOV,C=MN to {csr_file}"

    cert = ca.issue_signing_cert(MEMBER, csr.public_key(), at)
    cert_file = tmp_path / "sign1.cert.pem"
    cert_file.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM)
                                   for c in (cert, *ca.chain)))
    code, out, _ = _keys(runner, "import-cert", "--label", "sign1", str(cert_file), *token)
    assert code == 0, out
    assert cert_sha256(cert) in out

    code, out, _ = _keys(runner, "list", *token)
    assert code == 0
    sign_block = out[out.index("sign1"):]
    assert "kind:       sign (MN/GOV/GASR)" in sign_block
    assert "algorithm:  SHA512withECDSA" in sign_block
    assert f"subject:    {cert.subject.rfc4514_string()}" in sign_block
    assert f"validity:   {cert.not_valid_before_utc.isoformat()}" in sign_block
    assert f"sha256:     {cert_sha256(cert)}" in sign_block
    assert "certificate: none yet" in out[: out.index("sign1")]  # the auth key, listed first


def test_pin_is_prompted_hidden_and_confirmed_for_a_new_token(runner: CliRunner,
                                                              tmp_path: Path) -> None:
    token = ["--token-dir", str(tmp_path / "token")]
    code, out, _ = _keys(runner, "generate", "--kind", "sign", "--member", str(MEMBER),
                         "--label", "k", *token, pin=None, stdin="s3cret\ns3cret\n")
    assert code == 0, out
    assert "s3cret" not in out
    code, out, _ = _keys(runner, "list", *token, pin=None, stdin="s3cret\n")
    assert (code, out.splitlines()[-2:]) == (0, ["  algorithm:  SHA512withECDSA",
                                                 "  certificate: none yet (make a CSR, then "
                                                 "import-cert)"])


@pytest.mark.parametrize(("args", "message"), [
    (["list"], "give either --token-dir or --pkcs11-module"),
    (["list", "--token-dir", "{tmp}/missing"], "no software token at"),
    (["generate", "--kind", "sign", "--server", "MN/GOV/GASR/ss1", "--token-dir", "{tmp}"],
     "--kind sign needs --member"),
    (["generate", "--kind", "sign", "--member", "MN/GOV", "--token-dir", "{tmp}"],
     "not a client identifier"),
    (["csr", "--label", "nope", "--out", "{tmp}/x.pem", "--token-dir", "{tmp}"],
     "no key 'nope'"),
    (["import-cert", "--label", "k", "{tmp}/absent.pem", "--token-dir", "{tmp}"],
     "absent.pem: No such file or directory"),
    (["list", "--pkcs11-module", "/nonexistent/lib.so"], "needs --token-label"),
    (["list", "--pkcs11-module", "/nonexistent/lib.so", "--token-label", "t"],
     "cannot load PKCS#11 module"),
])
def test_errors_are_one_line_with_a_non_zero_exit(runner: CliRunner, tmp_path: Path,
                                                  args: list[str], message: str) -> None:
    code, out, err = _keys(runner, *(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert code == 1
    assert err.startswith("error: ")
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in out + err


def test_wrong_pin_and_foreign_certificate(runner: CliRunner, tmp_path: Path, ca: DevCa,
                                           at: datetime) -> None:
    token = ["--token-dir", str(tmp_path / "token")]
    assert _keys(runner, "generate", "--kind", "sign", "--member", str(MEMBER), "--label", "a",
                 *token)[0] == 0
    code, _, err = _keys(runner, "list", *token, pin="wrong-pin")
    assert code == 1
    assert "wrong PIN" in err
    assert "wrong-pin" not in err
    stranger = ca.issue_signing_cert(MEMBER, ca.issuing.public_key(), at)
    cert_file = tmp_path / "stranger.pem"
    cert_file.write_bytes(stranger.public_bytes(serialization.Encoding.PEM))
    code, _, err = _keys(runner, "import-cert", "--label", "a", str(cert_file), *token)
    assert code == 1
    assert "public key differs" in err


def test_pkcs11_generate_csr_and_list(runner: CliRunner, softhsm, tmp_path: Path,
                                      label: str) -> None:
    device = ["--pkcs11-module", str(softhsm.module), "--token-label", softhsm.token_label]
    code, out, err = _keys(runner, "generate", "--kind", "sign", "--member", str(MEMBER),
                           "--algorithm", "rsa", "--label", label, *device, pin=softhsm.pin)
    assert code == 0, err
    code, out, err = _keys(runner, "csr", "--label", label, "--out", str(tmp_path / "r.der"),
                           "--format", "der", *device, pin=softhsm.pin)
    assert code == 0, err
    assert x509.load_der_x509_csr((tmp_path / "r.der").read_bytes()).is_signature_valid
    code, out, _ = _keys(runner, "list", *device, pin=softhsm.pin)
    assert code == 0
    assert f"{label}\n  kind:       sign (MN/GOV/GASR)\n  algorithm:  SHA512withRSA" in out
    code, _, err = _keys(runner, "generate", "--kind", "auth", "--server", "MN/GOV/GASR/ss1",
                         *device, pin=softhsm.pin)
    assert (code, err.strip()) == (1, "error: authentication (TLS) keys live on the software "
                                      "token")


def test_list_reads_the_kind_of_keys_stored_by_other_code(runner: CliRunner, tmp_path: Path,
                                                          ca: DevCa, at: datetime) -> None:
    """Tokens written by the demo bootstrap have no purpose records; certificates tell."""
    token = SoftwareToken(tmp_path / "token")
    sign_key, auth_key, bare_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    token.store("sign", sign_key, [ca.issue_signing_cert(MEMBER, sign_key.public_key(), at)],
                PIN)
    server = SecurityServerId(MEMBER, "ss1")
    token.store("auth", auth_key, [ca.issue_auth_cert(server, auth_key.public_key(), at)], PIN)
    token.store_key("bare", bare_key, PIN)
    code, out, _ = _keys(runner, "list", "--token-dir", str(token.directory))
    assert code == 0
    assert out.count("kind:") == 3
    assert "auth\n  kind:       auth (from the certificate)" in out
    assert "sign\n  kind:       sign (from the certificate)" in out
    assert "bare\n  kind:       unknown" in out
