"""Who a message is about, kept as keyed hashes (pure).

The citizen data-access view asks "which agencies read my data?". Storing register numbers in
the log would turn it into a second population register, so each person found in a request is
stored as HMAC-SHA-256 under the security server's own secret: the same number always gives
the same key (so it can be searched), and the log alone reveals nobody.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import unquote

# A Mongolian register number: two Cyrillic letters and eight digits (birth date and serial).
REGISTER_NUMBER: Final = r"[А-ЯЁӨҮ]{2}[0-9]{8}"
MAX_SCAN: Final = 256 * 1024  # a request's first part; bodies beyond it are not searched
MAX_SUBJECTS: Final = 32  # per message: a bulk query is recorded with its first subjects


@dataclass(frozen=True)
class SubjectIndex:
    key: bytes = field(repr=False)
    pattern: str = REGISTER_NUMBER
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_regex", re.compile(
            rf"(?<![0-9A-Za-zА-Яа-яЁёӨөҮү])(?:{self.pattern})(?![0-9])", re.IGNORECASE))

    def key_of(self, subject: str) -> str:
        """The stored form of one subject (43 characters of base64url)."""
        normal = unicodedata.normalize("NFC", subject.strip()).upper()
        digest = hmac.new(self.key, normal.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def find(self, data: bytes | str) -> tuple[str, ...]:
        """Keyed hashes of the subjects named in a message (percent-encoding undone)."""
        text = data[:MAX_SCAN].decode("utf-8", "ignore") if isinstance(data, bytes) else data
        found = dict.fromkeys(m.group(0).upper() for m in self._regex.finditer(unquote(text)))
        return self.keys(list(found)[:MAX_SUBJECTS])

    def keys(self, subjects: Iterable[str]) -> tuple[str, ...]:
        return tuple(sorted({self.key_of(s) for s in subjects}))
