"""`xroad console user add|list|password`: accounts made outside the demo; the password comes
from the environment or a prompt, never the command line."""

from __future__ import annotations

from typer.testing import CliRunner

from xroad.cli.main import app
from xroad.clock import SystemClock
from xroad.console.accounts import Accounts
from xroad.console.db import open_database

runner = CliRunner()


def _accounts(console_dir):
    return Accounts(open_database(f"sqlite:///{console_dir / 'console.db'}"), SystemClock())


def test_add_list_and_change_a_password(tmp_path):
    where = ["--console-dir", str(tmp_path)]
    env = {"XROAD_CONSOLE_PASSWORD": "a long first password"}
    added = runner.invoke(app, ["console", "user", "add", "ana", "--role", "auditor", *where],
                          env=env)
    assert added.exit_code == 0, added.output
    assert "added ana (auditor)" in added.output
    citizen = runner.invoke(app, ["console", "user", "add", "bat", "--role", "citizen",
                                  "--register-number", "УБ99112233", *where], env=env)
    assert citizen.exit_code == 0, citizen.output
    listed = runner.invoke(app, ["console", "user", "list", *where])
    assert "ana" in listed.output
    assert "bat                      citizen  УБ99112233" in listed.output
    assert _accounts(tmp_path).authenticate("ana", "a long first password") is not None
    prompted = runner.invoke(app, ["console", "user", "password", "ana", *where],
                             input="a second long password\na second long password\n")
    assert prompted.exit_code == 0, prompted.output
    assert _accounts(tmp_path).authenticate("ana", "a second long password") is not None


def test_mistakes_are_one_line(tmp_path):
    where = ["--console-dir", str(tmp_path)]
    env = {"XROAD_CONSOLE_PASSWORD": "a long enough password"}
    for args, message in [
        (["add", "x", "--role", "king"], "unknown role 'king'"),
        (["add", "bad name", "--role", "auditor"], "a user name is"),
        (["add", "c", "--role", "citizen"], "register number"),
        (["password", "nobody"], "no user nobody"),
    ]:
        result = runner.invoke(app, ["console", "user", *args, *where], env=env)
        assert result.exit_code == 1, result.output
        assert message in result.output
        assert "Traceback" not in result.output
    short = runner.invoke(app, ["console", "user", "add", "y", "--role", "auditor", *where],
                          env={"XROAD_CONSOLE_PASSWORD": "short"})
    assert short.exit_code == 1
    assert "a password is 12 to 1024 characters" in short.output
