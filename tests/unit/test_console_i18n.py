"""Every language file has every key (so adding Lao is one file, and a missing key is caught
here, not by a user), the same placeholders, and every key the pages use exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from xroad.console.i18n import DEFAULT_LANGUAGE, LANGUAGE_DIR, Translations, load_language

CONSOLE = Path(__file__).resolve().parents[2] / "xroad" / "console"
LANGUAGES = sorted(p.stem for p in LANGUAGE_DIR.glob("*.toml"))
ENGLISH = load_language(LANGUAGE_DIR / f"{DEFAULT_LANGUAGE}.toml")


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_english_and_mongolian_are_there():
    assert {"en", "mn"} <= set(LANGUAGES)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_has_every_key_and_the_same_placeholders(lang):
    texts = load_language(LANGUAGE_DIR / f"{lang}.toml")
    assert sorted(set(ENGLISH) - set(texts)) == [], f"{lang}.toml lacks these keys"
    assert sorted(set(texts) - set(ENGLISH)) == [], f"{lang}.toml has keys English lacks"
    for key, text in texts.items():
        assert placeholders(text) == placeholders(ENGLISH[key]), key
        assert text.strip(), f"{lang}.toml: {key} is empty"
    assert texts["meta.name"] != ""


def test_mongolian_is_written_in_cyrillic():
    texts = load_language(LANGUAGE_DIR / "mn.toml")
    assert texts["meta.name"] == "Монгол"
    cyrillic = [k for k, v in texts.items() if re.search(r"[А-Яа-яЁёӨөҮү]", v)]
    assert len(cyrillic) > 0.9 * len(texts)


def _used_keys() -> set[str]:
    """Literal keys in t("...") calls of the templates and the page modules."""
    pattern = re.compile(r"""\bt\(\s*["']([a-z_][a-z0-9_.\-]*)["']""")
    keys: set[str] = set()
    for path in [*CONSOLE.rglob("*.html"), *CONSOLE.rglob("*.py")]:
        keys |= set(pattern.findall(path.read_text(encoding="utf-8")))
    return keys


def test_every_key_the_pages_name_exists():
    used = _used_keys()
    assert sorted(k for k in used - set(ENGLISH) if not k.endswith(".")) == []
    prefixes = {k for k in used if k.endswith(".")}  # t("status." ~ r.status) and the like
    assert sorted(p for p in prefixes if not any(k.startswith(p) for k in ENGLISH)) == []


def test_a_new_language_is_one_file(tmp_path):
    for lang in ("en", "mn"):
        (tmp_path / f"{lang}.toml").write_text(
            (LANGUAGE_DIR / f"{lang}.toml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "lo.toml").write_text('meta.name = "ລາວ"\nnav.home = "ໜ້າຫຼັກ"\n',
                                      encoding="utf-8")
    found = Translations.load(tmp_path)
    assert ("lo", "ລາວ") in found.languages
    assert found.languages[0] == ("en", "English")
    assert found.text("lo", "nav.home") == "ໜ້າຫຼັກ"
    assert found.text("lo", "nav.members") == "Members"  # missing: English, not an error
    assert found.text("lo", "no.such.key") == "no.such.key"
    assert found.pick("lo") == "lo"
    assert found.pick("xx", "lo-LA,lo;q=0.9") == "lo"
    assert found.pick(None, "fr-FR") == "en"


def test_placeholders_are_filled_and_bad_ones_do_not_fail():
    found = Translations.load()
    assert found.text("en", "home.welcome", username="a", role="b") == "Signed in as a (b)."
    assert found.text("en", "home.welcome") == "Signed in as {username} ({role})."
    assert "{username}" in found.text("en", "home.welcome", other="x")
