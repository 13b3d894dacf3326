"""Plate numbers and VINs: the formats the vehicle registry accepts."""

import pytest

from adapters.toolkit.errors import InvalidRequest
from adapters.vehicle import plate, vin


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("1234УБА", "Улаанбаатар"),
        ("0001УНЕ", "Улаанбаатар"),
        ("4521ХӨБ", "Хөвсгөл"),
        ("9999ЭТҮ", "Орхон"),
        ("0420ӨМЁ", "Өмнөговь"),
    ],
)
def test_valid_plates(text: str, region: str) -> None:
    assert plate.check_plate_number(text) == text
    assert plate.region_of(text) == region


@pytest.mark.parametrize(
    "text", ["1234 УБА", "1234YBA", "1234уба", "УБА1234", "1234УБАА", "1234ЯЯА", "１２３４УБА", ""]
)
def test_invalid_plates(text: str) -> None:
    assert not plate.is_valid(text)
    with pytest.raises(plate.InvalidPlateNumber) as raised:
        plate.check_plate_number(text)
    assert isinstance(raised.value, InvalidRequest)


def test_every_region_code_is_two_cyrillic_capitals_of_a_real_place() -> None:
    for code in plate.REGION_CODES:
        assert plate.is_valid(f"0000{code}А")
    assert plate.codes_of("Орхон") == ("ОР", "ЭТ")
    assert len(set(plate.REGION_CODES.values())) == 22  # 21 aimags and the capital


def test_vin_check_digit_of_a_published_example() -> None:
    # the standard worked example of 49 CFR 565 (check digit ten, written X)
    assert vin.check_digit("1M8GDM9AXKP042788") == "X"
    assert vin.has_valid_check_digit("1M8GDM9AXKP042788")
    assert not vin.has_valid_check_digit("1M8GDM9A1KP042788")


@pytest.mark.parametrize(
    "text", ["JTDKB20U3F041820", "JTDKB20U3F0418207X", "JTDKB20U3F041820I", "jtdkb20u3f0418207"]
)
def test_invalid_vins(text: str) -> None:
    with pytest.raises(ValueError, match="17 digits"):
        vin.check_vin(text)


def test_composed_vins_carry_year_and_check_digit() -> None:
    composed = vin.compose("JTD", "KB20U", 2015, "0", 418207)
    assert composed == "JTDKB20U3F0418207"
    assert vin.has_valid_check_digit(composed)
    assert vin.year_code(1980) == vin.year_code(2010) == "A"
    assert vin.year_code(2001) == "1"
    with pytest.raises(ValueError, match="predates"):
        vin.year_code(1979)
