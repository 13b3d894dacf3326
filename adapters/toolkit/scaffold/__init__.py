"""`xroad adapter new NAME`: a new registry adapter package, written from the templates here.

The package is a working registry (one SOAP and one REST service over its own SQLite or
PostgreSQL database, with its own tests) that a ministry developer then changes into theirs.
Everything generic (error forms, SOAP envelope, WSDL and OpenAPI publication, database start)
stays in `adapters.toolkit`, so the generated code is only what differs between registries.
Nothing is ever overwritten: a name that is taken, as a directory or as an importable package,
is refused before any file is written.
"""

import importlib.util
import keyword
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Final

from xroad.errors import XRoadError
from xroad.identifiers import ClientId

_TEMPLATES: Final = Path(__file__).parent
_NAME: Final = re.compile(r"[a-z][a-z0-9_]{1,29}")
_TITLE: Final = re.compile(r"[^\"\\<>&\x00-\x1f]{1,80}")  # goes into Python strings and XML
_MAX_CODE: Final = 40
_RESERVED: Final = frozenset({"adapters", "audit", "keys", "schemas", "tests", "toolkit", "xroad"})
# template -> file in the new package (`{name}` is the package name)
_FILES: Final = (
    ("__init__.py.tmpl", "__init__.py"),
    ("settings.py.tmpl", "settings.py"),
    ("registry.py.tmpl", "registry.py"),
    ("seed.py.tmpl", "seed.py"),
    ("service.py.tmpl", "service.py"),
    ("app.py.tmpl", "app.py"),
    ("registry.wsdl.tmpl", "{name}.wsdl"),
    ("README.md.tmpl", "README.md"),
    ("tests__init__.py.tmpl", "tests/__init__.py"),
    ("test_registry.py.tmpl", "tests/test_{name}.py"),
)


class ScaffoldError(ValueError):
    """The registry cannot be created as asked; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class NewRegistry:
    """What the templates need to know about the new registry."""

    name: str  # the Python package, e.g. `social_welfare`
    subsystem: ClientId  # e.g. MN/GOV/MLSP/social-welfare-registry
    title: str
    port: int

    @property
    def namespace(self) -> str:
        """The SOAP services' XML namespace (the WSDL's target namespace)."""
        s = self.subsystem
        return f"http://{s.subsystem_code}.{s.member_code.lower()}.{s.instance.lower()}/xroad"

    def variables(self) -> dict[str, str]:
        s = self.subsystem
        camel = "".join(part.capitalize() for part in self.name.split("_"))
        return {
            "name": self.name,
            "NAME": self.name.upper(),
            "title": self.title,
            "client_id": str(s),
            "instance": s.instance,
            "member_class": s.member_class,
            "member_code": s.member_code,
            "subsystem": s.subsystem_code or "",
            "service_code": f"get{camel}Record",
            "namespace": self.namespace,
            "prefix": "reg",
            "port": str(self.port),
        }


def check_name(name: str) -> None:
    """Refuse a name that is not a lowercase Python identifier or is taken by a package."""
    if not _NAME.fullmatch(name) or keyword.iskeyword(name):
        raise ScaffoldError(
            f"{name!r} is not a registry name: use 2-30 lowercase letters, digits and "
            "underscores, starting with a letter (a Python package name), e.g. social_welfare"
        )
    if name in _RESERVED or any(
        importlib.util.find_spec(module) is not None for module in (name, f"adapters.{name}")
    ):
        raise ScaffoldError(f"{name!r} is already a Python package here: choose another name")


def new_registry(
    name: str, *, member: str, subsystem: str | None = None, title: str | None = None,
    port: int = 9010,
) -> NewRegistry:
    """The description of the registry `name` of `member` (`MN/GOV/XYZ`); checks both."""
    check_name(name)
    try:
        owner = ClientId.parse(member)
    except XRoadError as e:
        raise ScaffoldError(f"--member {member!r}: {e}") from e
    if owner.subsystem_code is not None:
        raise ScaffoldError(f"--member {member!r}: give the member, INSTANCE/CLASS/CODE")
    code = subsystem or f"{name.replace('_', '-')}-registry"
    if len(code) > _MAX_CODE or len(owner.member_code) > _MAX_CODE:
        raise ScaffoldError(f"member and subsystem codes of at most {_MAX_CODE} characters")
    try:
        client = ClientId(owner.instance, owner.member_class, owner.member_code, code)
    except XRoadError as e:
        raise ScaffoldError(f"--subsystem {code!r}: {e}") from e
    if not 1 <= port <= 65535:
        raise ScaffoldError(f"--port {port}: not a TCP port")
    title = title or f"{name.replace('_', ' ').capitalize()} registry"
    if not _TITLE.fullmatch(title) or "--" in title:
        raise ScaffoldError(f"--title {title[:100]!r}: at most 80 characters, without quotes, "
                            "backslashes, <, >, & or --")
    return NewRegistry(name, client, title, port)


def write_registry(registry: NewRegistry, directory: Path) -> list[Path]:
    """Write the package `directory/name`; refuses if it exists. Returns the files written."""
    target = directory / registry.name
    if target.exists():
        raise ScaffoldError(f"{target} exists already; nothing was written (remove it or "
                            "choose another name or --dir)")
    if not directory.is_dir():
        raise ScaffoldError(f"{directory} is not a directory")
    variables = registry.variables()
    rendered = [
        (target / path.format(name=registry.name),
         Template((_TEMPLATES / template).read_text(encoding="utf-8")).substitute(variables))
        for template, path in _FILES
    ]  # every template is rendered before the first file is written
    for path, text in rendered:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as file:  # "x": never overwrite
            file.write(text)
    return [path for path, _ in rendered]
