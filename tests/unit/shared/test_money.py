"""shared.money: exact decimal <-> integer units; everything off the grid or malformed is refused."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.money import MAX_UNITS, ConversionError, format_units, parse_decimal, step_scale, to_units

CENT = Decimal("0.01")
ONE = Decimal(1)


# ---------------------------------------------------------------------------------------------- accepted


@pytest.mark.parametrize("value, expected", [
    ("101.50", 10_150),
    ("101.5", 10_150),
    ("101.500", 10_150),
    ("0.01", 1),
    ("1", 100),
    ("007.10", 710),
    (101, 10_100),
    (Decimal("101.50"), 10_150),
    (Decimal("1E+3"), 100_000),  # a JSON number 1e3 parsed with parse_float=Decimal
    ("1000000000", 100_000_000_000),
    ("1000000000.00", 100_000_000_000),
])
def test_to_units_exact_value_on_grid_converted(value, expected):
    assert to_units(value, CENT) == expected


def test_to_units_coarse_step_counts_steps():
    assert to_units("20", Decimal(10)) == 2
    assert to_units("0.15", Decimal("0.05")) == 3
    assert to_units("2.5", Decimal("0.5")) == 5


def test_parse_decimal_accepts_string_int_and_decimal_exactly():
    assert parse_decimal("101.50") == Decimal("101.50")
    assert str(parse_decimal("0.10")) == "0.10"
    assert parse_decimal(7) == Decimal(7)
    assert parse_decimal(Decimal("2.5")) == Decimal("2.5")


# ---------------------------------------------------------------------------------------------- refused


@pytest.mark.parametrize("value", [
    101.5, 1.0, 0.1, True, False, None, [], {}, b"1",
    "1e3", "1E3", " 1", "1 ", "-1", "+1", "0", "0.00", "-0.01", "abc", "NaN", "nan", "Infinity", "-Infinity",
    "inf", "", ".5", "5.", "1,000", "1_000", "0x10", "1.2.3", "\t1", "1\n",
    Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal(-1), Decimal(0),
    Decimal("-0"), 0, -1,
])
def test_to_units_malformed_or_non_positive_value_raises_conversion_error(value):
    with pytest.raises(ConversionError):
        to_units(value, CENT)


@pytest.mark.parametrize("value", ["\uff11\uff10", "\u0663", "\u0967\u0968.\u096b\u0966"])
def test_to_units_non_ascii_digits_raise_conversion_error(value):
    # Fullwidth 10, Arabic-Indic 3, Devanagari 12.50: Python's \d and Decimal() both accept them, but a
    # plain decimal string on the money path means ASCII digits only.
    with pytest.raises(ConversionError):
        to_units(value, CENT)


@pytest.mark.parametrize("value", ["101.505", "0.001", "100.001", Decimal("0.015"), "0." + "0" * 39 + "1"])
def test_to_units_off_grid_value_raises_conversion_error(value):
    with pytest.raises(ConversionError):
        to_units(value, CENT)


@pytest.mark.parametrize("value, step", [("15", Decimal(10)), ("0.12", Decimal("0.05")), ("1.5", ONE)])
def test_to_units_off_coarse_grid_raises_conversion_error(value, step):
    with pytest.raises(ConversionError):
        to_units(value, step)


@pytest.mark.parametrize("value", [
    "1000000000.01", "1000000001", "9" * 40, "1" + "0" * 40, 10**100, Decimal("1E+100000"),
    Decimal("1E-100000"), "0." + "0" * 40 + "1", Decimal("1E+31"),
])
def test_to_units_huge_or_absurd_value_raises_conversion_error(value):
    with pytest.raises(ConversionError):
        to_units(value, CENT)


def test_to_units_respects_custom_bound():
    assert to_units("4", ONE, max_value=Decimal(4)) == 4
    with pytest.raises(ConversionError):
        to_units("5", ONE, max_value=Decimal(4))


def test_max_units_is_one_billion():
    assert Decimal(1_000_000_000) == MAX_UNITS


def test_conversion_error_is_value_error_with_reason():
    with pytest.raises(ValueError) as info:
        to_units("101.505", CENT)
    assert isinstance(info.value, ConversionError)
    assert "0.01" in info.value.reason
    assert str(info.value) == info.value.reason


def test_float_refused_even_when_exactly_representable():
    with pytest.raises(ConversionError):
        parse_decimal(0.5)


# ---------------------------------------------------------------------------------------------- step_scale


@pytest.mark.parametrize("step, expected", [
    (Decimal("0.05"), (5, 2)), (Decimal("0.01"), (1, 2)), (Decimal(10), (10, 0)), (Decimal(1), (1, 0)),
    (Decimal("0.50"), (50, 2)), (Decimal("1E+1"), (10, 0)),
])
def test_step_scale_splits_step_into_integer_and_decimals(step, expected):
    assert step_scale(step) == expected


@pytest.mark.parametrize("step", [Decimal(0), Decimal(-1), Decimal("NaN"), Decimal("Infinity")])
def test_step_scale_non_positive_step_raises_conversion_error(step):
    with pytest.raises(ConversionError):
        step_scale(step)


# ---------------------------------------------------------------------------------------------- format_units


@pytest.mark.parametrize("amount, decimals, expected", [
    (10_150, 2, "101.50"),
    (5, 2, "0.05"),
    (100, 2, "1.00"),
    (0, 2, "0.00"),
    (-5, 2, "-0.05"),
    (-10_150, 2, "-101.50"),
    (7, 0, "7"),
    (0, 0, "0"),
    (-7, 0, "-7"),
    (1, 8, "0.00000001"),
    (123_456_789, 3, "123456.789"),
    (100_000_000_000, 2, "1000000000.00"),
])
def test_format_units_renders_exact_decimal_string(amount, decimals, expected):
    assert format_units(amount, decimals) == expected


@pytest.mark.parametrize("text", ["0.01", "101.50", "1000000000.00", "12.30"])
def test_format_units_round_trips_to_units(text):
    assert format_units(to_units(text, CENT), 2) == text


@given(st.integers(-(10**24), 10**24), st.integers(0, 18))  # within Decimal's 28 digits: exact
def test_format_units_equals_the_exact_decimal(amount, decimals):
    assert format_units(amount, decimals) == format(Decimal(amount).scaleb(-decimals), f".{decimals}f")
