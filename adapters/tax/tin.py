"""Taxpayer identification numbers (ТТД) of individuals, derived from the register number.

The tax administration gives legal entities their 7-digit state registration number as TIN;
how it numbers individuals is not published. This registry therefore uses a documented,
reversible encoding of the register number, so that a TIN names exactly one person, is
validated without the database (a typo is a 400, not a 404), and needs no second key:

    УБ99112233  ->  2202 99112233  ->  220299112233

- digits 1-4: the two letters, each as its two-digit position in the Mongolian Cyrillic
  alphabet `LETTERS` (А = 01, ..., У = 22, ..., Я = 35);
- digits 5-12: the register number's eight digits, unchanged.

A TIN is valid when it has twelve digits, both letter positions exist and the register number
it encodes is valid (birth date in the calendar), so `tin_of` and `register_number_of` are
exact inverses on valid input.
"""

import re
from typing import Final

from adapters.toolkit.errors import InvalidRequest
from adapters.toolkit.register_number import LETTERS, InvalidRegisterNumber, birth_date_of

_FORMAT: Final = re.compile(r"([0-9]{2})([0-9]{2})([0-9]{8})")


class InvalidTin(InvalidRequest):
    """The text is not a taxpayer identification number of an individual."""

    code = "InvalidTin"


def _letter(position: str, tin: str) -> str:
    index = int(position)
    if not 1 <= index <= len(LETTERS):
        raise InvalidTin(f"{tin!r}: {position} is not a letter of the Mongolian alphabet")
    return LETTERS[index - 1]


def register_number_of(tin: str) -> str:
    """The register number that `tin` encodes; raises `InvalidTin`."""
    match = _FORMAT.fullmatch(tin)
    if match is None:
        raise InvalidTin(f"{tin[:20]!r} is not a taxpayer number of twelve digits")
    first, second, digits = match.groups()
    register_number = _letter(first, tin) + _letter(second, tin) + digits
    try:
        birth_date_of(register_number)
    except InvalidRegisterNumber as e:
        raise InvalidTin(f"{tin!r} encodes no valid register number") from e
    return register_number


def tin_of(register_number: str) -> str:
    """The TIN of the person with `register_number`; raises `InvalidRegisterNumber`."""
    birth_date_of(register_number)  # validates format and birth date
    positions = "".join(f"{LETTERS.index(letter) + 1:02d}" for letter in register_number[:2])
    return positions + register_number[2:]


def is_valid(tin: str) -> bool:
    """Whether `tin` is a well-formed TIN of an individual."""
    try:
        register_number_of(tin)
    except InvalidTin:
        return False
    return True
