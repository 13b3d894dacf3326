"""Checking form input before it reaches an API: every problem becomes a message next to its
field (a translation key and values), never an exception page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from xroad.identifiers import is_identifier_part

MAX_CODE: Final = 255
MAX_TEXT: Final = 1000
MAX_COMMENT: Final = 4000


@dataclass
class FormErrors:
    """Field name -> (translation key, values); `general` for an API's refusal."""

    fields: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    general: str | None = None

    def __bool__(self) -> bool:
        return bool(self.fields) or self.general is not None

    def add(self, name: str, key: str, **values: Any) -> None:
        self.fields.setdefault(name, (key, values))

    def text(self, t: Any, name: str) -> str | None:
        """The message for `name` in the page's language (`t` is the page's translator)."""
        found = self.fields.get(name)
        return None if found is None else str(t(found[0], **found[1]))


def required_text(errors: FormErrors, fields: dict[str, str], name: str,
                  max_length: int = MAX_TEXT) -> str:
    value = fields.get(name, "").strip()
    if not value:
        errors.add(name, "form.required")
    elif len(value) > max_length:
        errors.add(name, "form.too_long", max=max_length)
    return value


def identifier_part(errors: FormErrors, fields: dict[str, str], name: str) -> str:
    """A code in X-Road's identifier character set (member, subsystem, server codes)."""
    value = required_text(errors, fields, name, MAX_CODE)
    if value and name not in errors.fields and not is_identifier_part(value):
        errors.add(name, "form.bad_identifier")
    return value


def optional_text(errors: FormErrors, fields: dict[str, str], name: str,
                  max_length: int = MAX_COMMENT) -> str:
    value = fields.get(name, "").strip()
    if len(value) > max_length:
        errors.add(name, "form.too_long", max=max_length)
    return value


def choice(errors: FormErrors, fields: dict[str, str], name: str, allowed: set[str]) -> str:
    value = fields.get(name, "").strip()
    if value not in allowed:
        errors.add(name, "form.bad_choice")
    return value
