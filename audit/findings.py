"""Problems found in an evidence bundle: every one named, the list bounded (pure).

The verifier goes on after the first problem, because an auditor needs the whole picture (one
altered record, or a truncated log, or a forged checkpoint); a hostile bundle must still not
produce an unbounded report, so past `limit` problems are only counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

DEFAULT_LIMIT: Final = 100


@dataclass(frozen=True, slots=True)
class Problem:
    where: str  # "record 17", "checkpoint", "checkpoint.tsr", "records.jsonl line 5", ...
    message: str
    index: int | None = None  # the record index, when the problem is about one record

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class Findings:
    limit: int = DEFAULT_LIMIT
    problems: list[Problem] = field(default_factory=list)
    not_listed: int = 0

    def add(self, where: str, message: str, index: int | None = None) -> None:
        if len(self.problems) < self.limit:
            self.problems.append(Problem(where, message, index))
        else:
            self.not_listed += 1

    def record(self, index: int, message: str) -> None:
        self.add(f"record {index}", message, index)

    def __bool__(self) -> bool:
        return bool(self.problems) or self.not_listed > 0


def short(value: object, limit: int = 120) -> str:
    """`repr(value)` cut to `limit` characters: hostile values must not flood a report."""
    try:
        text = repr(value)
    except RecursionError:
        return "<a value nested too deeply to show>"
    return text if len(text) <= limit else text[:limit - 3] + "..."
