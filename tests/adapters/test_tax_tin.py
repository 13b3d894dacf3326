"""Taxpayer identification numbers of individuals: format, validation, round trip."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.tax.tin import InvalidTin, is_valid, register_number_of, tin_of
from adapters.toolkit.register_number import LETTERS, InvalidRegisterNumber, Sex, compose


def test_demo_tin() -> None:
    assert tin_of("УБ99112233") == "220299112233"
    assert register_number_of("220299112233") == "УБ99112233"


def test_letters_map_to_alphabet_positions() -> None:
    assert tin_of("АЯ99112233")[:4] == "0135"
    assert tin_of("ӨҮ99112233")[:4] == "1723"


@pytest.mark.parametrize(
    "tin",
    [
        "",
        "22029911223",  # 11 digits
        "2202991122330",  # 13 digits
        "2202 9911223",
        "٢٢٠٢٩٩١١٢٢٣٣",  # Arabic-Indic digits are digits to `str.isdigit`, not to us
        "000299112233",  # letter 00
        "360299112233",  # letter 36: the alphabet has 35
        "220299132233",  # month 13
        "220299023033",  # 30 February
    ],
)
def test_malformed_tins(tin: str) -> None:
    assert not is_valid(tin)
    with pytest.raises(InvalidTin):
        register_number_of(tin)


def test_tin_of_a_malformed_register_number() -> None:
    with pytest.raises(InvalidRegisterNumber):
        tin_of("UB99112233")


@given(
    letters=st.text(alphabet=LETTERS, min_size=2, max_size=2),
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
    sex=st.sampled_from(Sex),
    serial=st.integers(0, 4),
    check=st.integers(0, 9),
)
def test_round_trip(letters: str, born: date, sex: Sex, serial: int, check: int) -> None:
    register_number = compose(letters, born, sex, serial, check)
    tin = tin_of(register_number)
    assert len(tin) == 12
    assert tin.isascii()
    assert tin.isdigit()
    assert register_number_of(tin) == register_number
