"""Mongolian register numbers (регистрийн дугаар): two Cyrillic capitals and eight digits.

The rule implemented here, for `УБ99112233`:

- `УБ`: two capital letters of the Mongolian Cyrillic alphabet (А-Я, Ё, Ө, Ү). Latin
  look-alikes (`Y`, `A`, `B`...) are refused: they would make two spellings of one person.
- `991122`: the birth date as YYMMDD. For people born in 2000 or later the month has 20
  added, so `99 11 22` is 1999-11-22 and `03 25 17` is 2003-05-17. Months 01-12 therefore
  mean 1900-1999 and 21-32 mean 2000-2099; the date must exist in the calendar.
- `3`: the ninth character (second to last) is odd for a man, even for a woman.
- `3`: the last digit is a check digit whose algorithm is not published, so it is not
  verified; any digit is accepted.
"""

import re
from datetime import date
from enum import StrEnum
from typing import Final

from adapters.toolkit.errors import InvalidRequest

LETTERS: Final = "АБВГДЕЁЖЗИЙКЛМНОӨПРСТУҮФХЦЧШЩЪЫЬЭЮЯ"
_FORMAT: Final = re.compile(f"([{LETTERS}]{{2}})([0-9]{{2}})([0-9]{{2}})([0-9]{{2}})([0-9])([0-9])")
_MILLENNIUM_MONTH_OFFSET: Final = 20


class Sex(StrEnum):
    """Sex as recorded by the civil registry; the values are the wire strings."""

    MALE = "male"
    FEMALE = "female"


class InvalidRegisterNumber(InvalidRequest):
    """The text is not a register number, or its date part is not a calendar date."""

    code = "InvalidRegisterNumber"


def _parts(register_number: str) -> tuple[date, Sex]:
    match = _FORMAT.fullmatch(register_number)
    if match is None:
        raise InvalidRegisterNumber(
            f"{register_number[:20]!r} is not two Cyrillic capital letters and eight digits"
        )
    _, yy, mm, dd, sex_digit, _ = match.groups()
    year, month = int(yy), int(mm)
    if month > _MILLENNIUM_MONTH_OFFSET:
        year, month = 2000 + year, month - _MILLENNIUM_MONTH_OFFSET
    else:
        year += 1900
    try:
        born = date(year, month, int(dd))
    except ValueError as e:
        raise InvalidRegisterNumber(f"{register_number!r} has no valid birth date") from e
    return born, Sex.MALE if int(sex_digit) % 2 else Sex.FEMALE


def birth_date_of(register_number: str) -> date:
    """Birth date encoded in `register_number`; raises `InvalidRegisterNumber`."""
    return _parts(register_number)[0]


def sex_of(register_number: str) -> Sex:
    """Sex encoded in the ninth character; raises `InvalidRegisterNumber`."""
    return _parts(register_number)[1]


def is_valid(register_number: str) -> bool:
    """Whether the format and the encoded birth date are valid (the check digit is not)."""
    try:
        _parts(register_number)
    except InvalidRegisterNumber:
        return False
    return True


def compose(letters: str, born: date, sex: Sex, serial: int, check: int) -> str:
    """Build the register number of a person; the inverse of `birth_date_of` and `sex_of`.

    `serial` (0-4) picks the ninth digit among those of the right parity, `check` (0-9) is
    the unverified last digit. Used for seed data and property tests.
    """
    if not 1900 <= born.year <= 2099:
        raise ValueError(f"{born} cannot be encoded in a register number")
    if not (0 <= serial <= 4 and 0 <= check <= 9):
        raise ValueError("serial must be 0-4 and check 0-9")
    month = born.month + (_MILLENNIUM_MONTH_OFFSET if born.year >= 2000 else 0)
    sex_digit = 2 * serial + (1 if sex is Sex.MALE else 0)
    text = f"{letters}{born.year % 100:02d}{month:02d}{born.day:02d}{sex_digit}{check}"
    if _FORMAT.fullmatch(text) is None:
        raise ValueError(f"{letters!r} are not two Cyrillic capital letters")
    return text
