"""Vehicle identification numbers (VIN) after ISO 3779, and the check digit of 49 CFR 565.

ISO 3779 fixes 17 characters from the digits and the Latin capitals without `I`, `O` and
`Q` (too easily read as 1 and 0): a world manufacturer identifier (positions 1-3), a
vehicle descriptor (4-9) and a vehicle indicator (10-17) whose first character is the model
year code. ISO 3779 recommends but does not require the year code and the check digit in
position 9, which North America and China make mandatory. Vehicles imported from Japan and
Korea, most of Mongolia's fleet, do not always carry it, so `check_vin` checks only what
ISO 3779 requires and `has_valid_check_digit` is separate; the seed data has both right.
"""

import re
from typing import Final

ALPHABET: Final = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
_FORMAT: Final = re.compile(f"[{ALPHABET}]{{17}}")
# transliteration of letters to numbers for the check digit (49 CFR 565.15)
_VALUES: Final = dict(zip("ABCDEFGHJKLMNPRSTUVWXYZ", "12345678123457923456789", strict=True)) | {
    digit: digit for digit in "0123456789"
}
_WEIGHTS: Final = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
CHECK_POSITION: Final = 8  # zero-based index of the check digit
YEAR_POSITION: Final = 9
# model year codes, repeating every 30 years from 1980 (A) and 2010 (A again)
YEAR_CODES: Final = "ABCDEFGHJKLMNPRSTVWXY123456789"
_FIRST_CYCLE: Final = 1980
_SHOWN: Final = 20


def check_vin(vin: str) -> str:
    """`vin` if it has ISO 3779's length and alphabet; raises `ValueError` otherwise."""
    if _FORMAT.fullmatch(vin) is None:
        raise ValueError(f"{vin[:_SHOWN]!r} is not 17 digits and capitals other than I, O and Q")
    return vin


def check_digit(vin: str) -> str:
    """The check digit of `vin` (its position 9 is ignored): `0`-`9` or `X` for ten."""
    total = sum(
        int(_VALUES[char]) * weight for char, weight in zip(check_vin(vin), _WEIGHTS, strict=True)
    )
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def has_valid_check_digit(vin: str) -> bool:
    """Whether position 9 holds the check digit of the other sixteen characters."""
    return vin[CHECK_POSITION] == check_digit(vin)


def year_code(year: int) -> str:
    """The position-10 code of a model year (1980 and 2010 are both `A`)."""
    if year < _FIRST_CYCLE:
        raise ValueError(f"model year {year} predates VIN year codes")
    return YEAR_CODES[(year - _FIRST_CYCLE) % len(YEAR_CODES)]


def compose(wmi: str, descriptor: str, year: int, plant: str, serial: int) -> str:
    """A VIN with its model year code and check digit; for seed data and tests.

    `wmi` is the manufacturer (`JTD` Toyota), `descriptor` five characters of model and
    body, `plant` one character, `serial` up to six digits.
    """
    draft = f"{wmi}{descriptor}0{year_code(year)}{plant}{serial:06d}"
    check_vin(draft)
    return draft[:CHECK_POSITION] + check_digit(draft) + draft[CHECK_POSITION + 1 :]
