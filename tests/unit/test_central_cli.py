"""The central server's CLI without a running server: keys made on its host, and one clear
line when the central server cannot be reached or named."""

import stat

from sqlalchemy import create_engine
from typer.testing import CliRunner

from xroad.central.admin_auth import ApiKeyStore, Credentials
from xroad.central.database import migrate
from xroad.central.roles import Role
from xroad.cli.main import app
from xroad.clock import SystemClock

runner = CliRunner()


def test_the_first_administrator_key(tmp_path):
    central = tmp_path / "central"
    central.mkdir()
    engine = create_engine(f"sqlite:///{central / 'central.db'}")
    migrate(engine)
    result = runner.invoke(app, ["central-api-key", "create", "--role", "administrator",
                                 "--name", "first administrator", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    key_file = central / "admin-api-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    token = key_file.read_text().strip()
    assert token not in result.output  # written to the file, never printed
    principal = ApiKeyStore(engine, SystemClock()).authenticate(Credentials("api-key", token))
    assert principal is not None
    assert principal.role is Role.ADMINISTRATOR
    again = runner.invoke(app, ["central-api-key", "create", "--role", "administrator",
                                "--name", "x", "--data-dir", str(tmp_path)])
    assert again.exit_code == 1
    assert "exists; use --force" in again.output
    listed = runner.invoke(app, ["central-api-key", "list", "--data-dir", str(tmp_path)])
    assert "first administrator" in listed.output
    key_id = token.split(".")[0]
    revoked = runner.invoke(app, ["central-api-key", "revoke", key_id,
                                  "--data-dir", str(tmp_path)])
    assert revoked.exit_code == 0, revoked.output
    assert ApiKeyStore(engine, SystemClock()).authenticate(Credentials("api-key", token)) is None


def test_no_database_no_url_no_server(tmp_path, monkeypatch):
    monkeypatch.delenv("XROAD_CENTRAL_URL", raising=False)
    monkeypatch.delenv("XROAD_CENTRAL_API_KEY", raising=False)
    result = runner.invoke(app, ["central-api-key", "list", "--data-dir", str(tmp_path)])
    assert (result.exit_code, "no central database" in result.output) == (1, True)
    result = runner.invoke(app, ["member", "list", "--data-dir", str(tmp_path)])
    assert (result.exit_code, "no central server URL" in result.output) == (1, True)
    (tmp_path / "central").mkdir()
    (tmp_path / "central" / "admin-api-key").write_text("k.x")
    result = runner.invoke(app, ["member", "list", "--data-dir", str(tmp_path),
                                 "--central-url", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "cannot reach the central server at http://127.0.0.1:9" in result.output
    result = runner.invoke(app, ["member", "add", "MN/COM/a b", "--name", "x",
                                 "--data-dir", str(tmp_path)])
    assert (result.exit_code, "invalid client identifier" in result.output) == (1, True)
