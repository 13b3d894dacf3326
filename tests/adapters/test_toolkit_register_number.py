"""Register numbers: the documented rule, its edges, and Hypothesis laws."""

from datetime import date

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from adapters.toolkit.register_number import (
    LETTERS,
    InvalidRegisterNumber,
    Sex,
    birth_date_of,
    compose,
    is_valid,
    sex_of,
)

FIRST: date = date(1900, 1, 1)
LAST: date = date(2099, 12, 31)


@st.composite
def register_numbers(draw: st.DrawFn) -> tuple[str, date, Sex]:
    letters = draw(st.text(alphabet=LETTERS, min_size=2, max_size=2))
    born = draw(st.dates(min_value=FIRST, max_value=LAST))
    sex = draw(st.sampled_from(Sex))
    number = compose(letters, born, sex, draw(st.integers(0, 4)), draw(st.integers(0, 9)))
    return number, born, sex


def test_demo_person_is_valid() -> None:
    assert is_valid("УБ99112233")
    assert birth_date_of("УБ99112233") == date(1999, 11, 22)
    assert sex_of("УБ99112233") is Sex.MALE


@pytest.mark.parametrize(
    ("number", "born", "sex"),
    [
        ("УБ03251712", date(2003, 5, 17), Sex.MALE),  # the brief's example: 20 added to May
        ("ЧД00010108", date(1900, 1, 1), Sex.FEMALE),  # first day the format can express
        ("ӨҮ99323199", date(2099, 12, 31), Sex.MALE),  # last day; Ө and Ү are Mongolian letters
        ("УА00222900", date(2000, 2, 29), Sex.FEMALE),  # 2000 is a leap year
        ("ЁЯ72031527", date(1972, 3, 15), Sex.FEMALE),
    ],
)
def test_known_numbers(number: str, born: date, sex: Sex) -> None:
    assert is_valid(number)
    assert birth_date_of(number) == born
    assert sex_of(number) is sex


@pytest.mark.parametrize(
    "number",
    [
        "",
        "УБ9911223",  # seven digits
        "УБ991122333",  # nine digits
        "уб99112233",  # lower case
        "UB99112233",  # Latin
        "УB99112233",  # Latin B after a Cyrillic У
        "YБ99112233",  # Latin Y looks like У
        "У99112233",  # one letter
        "УБВ9911223",  # three letters
        "УБ00022900",  # 1900 was not a leap year
        "УБ99002233",  # month 0
        "УБ99132233",  # month 13: neither 1900s nor 2000s
        "УБ99202233",  # month 20
        "УБ99332233",  # month 33
        "УБ99110033",  # day 0
        "УБ99113133",  # 31 November
        "УБ９９112233",  # full-width digits
        "УБ٩٩112233",  # Arabic-Indic digits
        " УБ99112233",
        "УБ99112233\n",
    ],
)
def test_malformed_numbers(number: str) -> None:
    assert not is_valid(number)
    with pytest.raises(InvalidRegisterNumber):
        birth_date_of(number)


@given(register_numbers())
def test_composed_numbers_are_valid_and_decode(case: tuple[str, date, Sex]) -> None:
    number, born, sex = case
    assert is_valid(number)
    assert birth_date_of(number) == born
    assert sex_of(number) is sex


_NOT_LETTERS = "ABCEHKMOPTXYaeopуб0Ӡ- "
_NOT_DIGITS = "OoIlЗБ٣９ -"


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A valid number broken in one of the ways people and attackers break them."""
    number, _, _ = draw(register_numbers())
    way = draw(st.sampled_from(["letter", "digit", "drop", "extra", "month", "day"]))
    if way == "letter":
        at = draw(st.integers(0, 1))
        return number[:at] + draw(st.sampled_from(_NOT_LETTERS)) + number[at + 1 :]
    if way == "digit":
        at = draw(st.integers(2, 9))
        return number[:at] + draw(st.sampled_from(_NOT_DIGITS)) + number[at + 1 :]
    if way == "drop":
        at = draw(st.integers(0, 9))
        return number[:at] + number[at + 1 :]
    if way == "extra":
        at = draw(st.integers(0, 10))
        return number[:at] + draw(st.sampled_from("0УA ")) + number[at:]
    if way == "month":
        month = draw(st.sampled_from([0, *range(13, 21), *range(33, 100)]))
        return f"{number[:4]}{month:02d}{number[6:]}"
    day = draw(st.sampled_from([0, *range(32, 100)]))
    return f"{number[:6]}{day:02d}{number[8:]}"


@given(mutated())
@example("УБ99113133")
def test_mutated_numbers_are_refused(number: str) -> None:
    assert not is_valid(number)


@given(st.text(max_size=24))
def test_any_text_gives_an_answer_not_an_exception(text: str) -> None:
    assert is_valid(text) in (True, False)


@pytest.mark.parametrize(
    ("letters", "born"),
    [("UB", date(1999, 1, 1)), ("УБ", date(1899, 12, 31)), ("УБ", date(2100, 1, 1))],
)
def test_compose_refuses_what_the_format_cannot_hold(letters: str, born: date) -> None:
    with pytest.raises(ValueError, match=r"register number|Cyrillic"):
        compose(letters, born, Sex.MALE, 0, 0)
