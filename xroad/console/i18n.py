"""Interface text in several languages: one TOML file per language in `xroad/console/i18n/`.

Keys are flat and dotted (`nav.audit = "Audit"`; TOML reads them as nested tables, which are
flattened back here). A new language is one new file (`lo.toml` for Lao) with the same keys
and `meta.name` (the language's own name, shown in the switcher); a unit test checks every
file has every key of English. A missing key falls back to English, then to the key itself,
so a page never fails for want of a translation.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

DEFAULT_LANGUAGE: Final = "en"
LANGUAGE_DIR: Final = Path(__file__).parent / "i18n"


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = str(value)
    return flat


def load_language(path: Path) -> dict[str, str]:
    with path.open("rb") as f:
        return _flatten(tomllib.load(f))


@dataclass(frozen=True)
class Translations:
    """Every language's text, keyed by language code (the file's stem)."""

    texts: Mapping[str, Mapping[str, str]]

    @classmethod
    def load(cls, directory: Path = LANGUAGE_DIR) -> Translations:
        texts = {p.stem: load_language(p) for p in sorted(directory.glob("*.toml"))}
        if DEFAULT_LANGUAGE not in texts:
            raise ValueError(f"{directory} has no {DEFAULT_LANGUAGE}.toml")
        return cls(texts)

    @property
    def languages(self) -> tuple[tuple[str, str], ...]:
        """(code, own name) of each language, English first."""
        codes = sorted(self.texts, key=lambda c: (c != DEFAULT_LANGUAGE, c))
        return tuple((c, self.texts[c].get("meta.name", c)) for c in codes)

    def pick(self, wanted: str | None, accept_language: str | None = None) -> str:
        """The language asked for by cookie, else the browser's first we have, else English."""
        if wanted is not None and wanted in self.texts:
            return wanted
        for part in (accept_language or "").split(","):
            code = part.split(";")[0].strip().lower()[:2]
            if code in self.texts:
                return code
        return DEFAULT_LANGUAGE

    def text(self, lang: str, key: str, **values: object) -> str:
        found = self.texts.get(lang, {}).get(key)
        if found is None:
            found = self.texts[DEFAULT_LANGUAGE].get(key, key)
        if values:
            try:
                return found.format(**values)
            except (KeyError, IndexError, ValueError):
                return found
        return found
