"""JSON from outside: parsed with bounded depth, read with the types the protocol requires.

`json.loads` raises `RecursionError` on deep nesting, and `str(value)` would quietly turn
`null`, numbers or lists into text; a peer's JSON must instead be refused (`ValueError`,
which each codec turns into its own X-Road error).
"""

from __future__ import annotations

import json
from typing import Any


def loads(data: bytes | str) -> Any:
    try:
        return json.loads(data)
    except RecursionError as e:
        raise ValueError("JSON nested too deeply") from e


def obj(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value


def text(doc: dict[str, Any], key: str) -> str:
    value = doc[key]
    if not isinstance(value, str):
        raise ValueError(f"{key!r} must be a string")
    value.encode("utf-8")  # refuses lone surrogates (\\ud800): they cannot travel on
    return value


def optional_text(doc: dict[str, Any], key: str) -> str | None:
    return None if doc.get(key) is None else text(doc, key)


def integer(doc: dict[str, Any], key: str) -> int:
    value = doc[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{key!r} must be an integer")
    return value


def pairs(doc: dict[str, Any], key: str) -> tuple[tuple[str, str], ...]:
    """A list of [name, value] string pairs (HTTP headers)."""
    value = doc[key]
    if not isinstance(value, list):
        raise ValueError(f"{key!r} must be a list")
    out = []
    for item in value:
        if (not isinstance(item, list) or len(item) != 2
                or not all(isinstance(x, str) for x in item)):
            raise ValueError(f"{key!r} must hold [name, value] string pairs")
        name, val = item
        name.encode("utf-8")
        val.encode("utf-8")
        out.append((name, val))
    return tuple(out)
