"""Mongolian registration plates (улсын дугаар): four digits and three Cyrillic capitals.

The rule implemented here, for `1234УБА`:

- `1234`: four digits, leading zeros included (`0042УБА` is a plate of its own).
- `УБ`: the code of the region where the vehicle was registered: an aimag (`АР` Arkhangai,
  `ХӨ` Khövsgöl, ...), a city (`ЭТ` Erdenet, `ЧО` Choibalsan) or the capital (`УБ`, `УН`,
  `УА`, `УЕ`, `УК`). Only codes in `REGION_CODES` are accepted: the registry issues plates,
  so a plate with a code it never issued is a typo, not an unknown vehicle.
- `А`: a serial letter, any capital of the Mongolian Cyrillic alphabet.

Latin look-alikes (`1234YBA`) and spaces (`1234 УБА`, as painted on the plate) are refused,
as for register numbers: one vehicle must have one spelling, or lookups would miss it.
"""

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from adapters.toolkit.errors import InvalidRequest
from adapters.toolkit.register_number import LETTERS

CAPITAL: Final = "Улаанбаатар"

# region code -> aimag (or the capital) as written in civil registry addresses
REGION_CODES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "УБ": CAPITAL,
        "УН": CAPITAL,
        "УА": CAPITAL,
        "УЕ": CAPITAL,
        "УК": CAPITAL,
        "БН": CAPITAL,  # Baganuur district
        "НА": CAPITAL,  # Nalaikh district
        "АР": "Архангай",
        "БӨ": "Баян-Өлгий",
        "БХ": "Баянхонгор",
        "БУ": "Булган",
        "ГА": "Говь-Алтай",
        "ГС": "Говьсүмбэр",
        "ДА": "Дархан-Уул",
        "ДГ": "Дорноговь",
        "ДО": "Дорнод",
        "ЧО": "Дорнод",  # Choibalsan city
        "ДУ": "Дундговь",
        "ЗА": "Завхан",
        "ОР": "Орхон",
        "ЭТ": "Орхон",  # Erdenet city
        "ӨВ": "Өвөрхангай",
        "ӨМ": "Өмнөговь",
        "СҮ": "Сүхбаатар",
        "СЭ": "Сэлэнгэ",
        "СБ": "Сэлэнгэ",  # Sükhbaatar city
        "ТӨ": "Төв",
        "УВ": "Увс",
        "ХО": "Ховд",
        "ХӨ": "Хөвсгөл",
        "ХЭ": "Хэнтий",
    }
)
_FORMAT: Final = re.compile(f"[0-9]{{4}}([{LETTERS}]{{2}})[{LETTERS}]")
_SHOWN: Final = 20  # characters of a refused value quoted back in the error message


class InvalidPlateNumber(InvalidRequest):
    """The text is not a plate number, or its region code was never issued."""

    code = "InvalidPlateNumber"


def check_plate_number(plate_number: str) -> str:
    """`plate_number` if valid; raises `InvalidPlateNumber` saying what is wrong."""
    match = _FORMAT.fullmatch(plate_number)
    if match is None:
        raise InvalidPlateNumber(
            f"{plate_number[:_SHOWN]!r} is not four digits and three Cyrillic capital letters "
            "without spaces, e.g. 1234УБА"
        )
    if match.group(1) not in REGION_CODES:
        raise InvalidPlateNumber(f"{plate_number!r}: {match.group(1)} is not a region code")
    return plate_number


def is_valid(plate_number: str) -> bool:
    """Whether `plate_number` is well formed with a known region code."""
    try:
        check_plate_number(plate_number)
    except InvalidPlateNumber:
        return False
    return True


def region_of(plate_number: str) -> str:
    """The aimag (or the capital) where the vehicle was registered."""
    return REGION_CODES[check_plate_number(plate_number)[4:6]]


def codes_of(region: str) -> tuple[str, ...]:
    """The region codes issued in `region` (an aimag or the capital), in table order."""
    return tuple(code for code, name in REGION_CODES.items() if name == region)
