"""`xroad adapter new`: the scaffold writes a registry that works, passes its own tests and lints.

The package is generated once per module by the real command, then imported in-process, served
by uvicorn on a real socket, tested by its own tests in a subprocess, and checked by ruff and
mypy --strict as a ministry's developer would check it.
"""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from fastapi.testclient import TestClient
from lxml import etree
from typer.testing import CliRunner
from xmlschema import XMLSchema
from xroad_soap import DEMO, LIMITS, NOBODY, WSDL_NS, XSD_NS, body_of, fault_code, post_soap
from xroad_soap import envelope as xroad_envelope

from adapters.toolkit.scaffold import ScaffoldError, check_name, new_registry
from xroad.cli import main
from xroad.messages.xml import parse_untrusted

ROOT = Path(__file__).parents[2]
VENV_BIN = Path(sys.executable).parent
NAME = "social_welfare"
MEMBER = "MN/GOV/MLSP"
SUBSYSTEM = "MN/GOV/MLSP/social-welfare-registry"
SERVICE_CODE = "getSocialWelfareRecord"
NAMESPACE = "http://social-welfare-registry.mlsp.mn/xroad"
PYTHON_FILES = {
    "__init__.py", "settings.py", "registry.py", "seed.py", "service.py", "app.py",
    "tests/__init__.py", f"tests/test_{NAME}.py",
}


def _xroad(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xroad.cli.main", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def parent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory holding the generated package, made by the real command."""
    directory = tmp_path_factory.mktemp("ministry")
    done = _xroad("adapter", "new", NAME, "--dir", str(directory), "--member", MEMBER)
    assert done.returncode == 0, done.stderr
    assert SUBSYSTEM in done.stdout
    assert f"xroad subsystem add {SUBSYSTEM}" in done.stdout
    return directory


@pytest.fixture(scope="module")
def package(parent: Path) -> Iterator[ModuleType]:
    sys.path.insert(0, str(parent))
    try:
        import social_welfare  # noqa: PLC0415  # only importable once generated

        yield social_welfare
    finally:
        sys.path.remove(str(parent))
        for module in [m for m in sys.modules if m == NAME or m.startswith(f"{NAME}.")]:
            del sys.modules[module]


@pytest.fixture(scope="module")
def client(package: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    database = tmp_path_factory.mktemp("db") / "r.db"
    settings = package.Settings(database_url=f"sqlite:///{database}")
    with TestClient(package.create_app(settings)) as test_client:
        yield test_client


def _envelope(number: str) -> bytes:
    content = f"<b:registerNumber>{number}</b:registerNumber>"
    return xroad_envelope(SUBSYSTEM, SERVICE_CODE, content, body_ns=NAMESPACE)


# What is written


def test_writes_the_package(parent: Path) -> None:
    written = {str(p.relative_to(parent / NAME)) for p in (parent / NAME).rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    assert written == PYTHON_FILES | {f"{NAME}.wsdl", "README.md"}
    readme = (parent / NAME / "README.md").read_text(encoding="utf-8")
    for step in ("xroad subsystem add", "xroad server register --client", "[[services]]",
                 "xroad acl grant"):
        assert step in readme


def test_stays_small(parent: Path) -> None:
    """A registry is a few dozen lines plus its model: app and service, without docstrings."""
    for module in ("app.py", "service.py"):
        lines = (parent / NAME / module).read_text(encoding="utf-8").splitlines()
        code = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
        assert len(code) < 80, module


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Social", "not a registry name"),
        ("2fast", "not a registry name"),
        ("social-welfare", "not a registry name"),
        ("class", "not a registry name"),
        ("x", "not a registry name"),
        ("json", "already a Python package"),
        ("civil", "already a Python package"),
        ("toolkit", "already a Python package"),
    ],
)
def test_refuses_bad_names(name: str, message: str) -> None:
    with pytest.raises(ScaffoldError, match=message):
        check_name(name)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"member": "MN/GOV"}, "--member"),
        ({"member": "MN/GOV/MLSP/sub"}, "give the member"),
        ({"member": MEMBER, "subsystem": "bad code"}, "--subsystem"),
        ({"member": MEMBER, "title": 'say "hi"'}, "--title"),
        ({"member": MEMBER, "port": 0}, "--port"),
    ],
)
def test_refuses_bad_options(options: dict[str, object], message: str) -> None:
    with pytest.raises(ScaffoldError, match=message):
        new_registry("health", **options)  # type: ignore[arg-type]


def test_never_overwrites(parent: Path) -> None:
    app = parent / NAME / "app.py"
    before = app.read_bytes()
    done = CliRunner().invoke(main.app, ["adapter", "new", NAME, "--dir", str(parent)])
    assert done.exit_code == 2
    assert "exists already; nothing was written" in done.output
    assert done.exception is None or isinstance(done.exception, SystemExit)
    assert app.read_bytes() == before
    bad = CliRunner().invoke(main.app, ["adapter", "new", "Bad-Name", "--dir", str(parent)])
    assert bad.exit_code == 2
    assert "not a registry name" in bad.output
    assert not (parent / "Bad-Name").exists()


# It works: in-process


def test_rest_service(client: TestClient) -> None:
    response = client.get(f"/records/{DEMO}")
    assert response.status_code == 200
    assert response.json()["register_number"] == DEMO
    assert client.get("/records/УБ99133233").json()["type"] == "InvalidRegisterNumber"
    assert client.get(f"/records/{NOBODY}").status_code == 404


def test_soap_service_answers_as_its_wsdl_says(client: TestClient) -> None:
    wsdl = parse_untrusted(client.get("/wsdl").content, LIMITS)
    schema_element = wsdl.find(f"{{{WSDL_NS}}}types/{{{XSD_NS}}}schema")
    assert schema_element is not None
    for imported in schema_element.findall(f"{{{XSD_NS}}}import"):
        schema_element.remove(imported)
    schema = XMLSchema(etree.tostring(schema_element, encoding="unicode"))
    for number in (DEMO, NOBODY):  # a record, then a business fault
        status, response = post_soap(client, _envelope(number))
        assert status == 200
        schema.validate(etree.tostring(body_of(response), encoding="unicode"))
    status, response = post_soap(client, _envelope("УБ99133233"))
    assert status == 500
    assert fault_code(response) == "Client.InvalidRegisterNumber"


def test_openapi_describes_the_rest_service(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert "/records/{register_number}" in document["paths"]
    assert document["info"]["summary"] == f"X-Road subsystem {SUBSYSTEM}"


# It works: a real process on a real socket


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serves_over_a_real_socket(parent: Path, tmp_path: Path) -> None:
    port = _free_port()
    env = os.environ | {f"XROAD_{NAME.upper()}_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}"}
    server = subprocess.Popen(
        [str(VENV_BIN / "uvicorn"), "--factory", f"{NAME}.app:from_environment",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the generated registry did not start"
            time.sleep(0.2)
        rest = httpx.get(f"{base}/records/{DEMO}", timeout=10)
        assert rest.json()["register_number"] == DEMO
        soap = httpx.post(f"{base}/soap", content=_envelope(DEMO),
                          headers={"Content-Type": "text/xml"}, timeout=10)
        assert soap.status_code == 200
        answer = body_of(parse_untrusted(soap.content, LIMITS))
        assert answer.findtext(f"{{{NAMESPACE}}}record/{{{NAMESPACE}}}registerNumber") == DEMO
        assert SERVICE_CODE.encode() in httpx.get(f"{base}/wsdl", timeout=10).content
    finally:
        server.terminate()
        server.wait(timeout=15)


# Its own tests, ruff and mypy --strict


def test_its_own_tests_pass(parent: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"{NAME}/tests"],
        cwd=parent, capture_output=True, text=True, timeout=120, check=False,
        env=os.environ | {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},  # it needs none of ours
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 passed" in done.stdout


def test_ruff_and_mypy_strict_are_clean(parent: Path, tmp_path: Path) -> None:
    ruff = subprocess.run(
        [str(VENV_BIN / "ruff"), "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"),
         NAME],
        cwd=parent, capture_output=True, text=True, timeout=60, check=False,
    )
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr
    mypy = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), NAME],
        cwd=parent, capture_output=True, text=True, timeout=180, check=False,
    )
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
