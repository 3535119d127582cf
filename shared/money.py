"""Exact conversion between decimal values at the JSON edge and integer units inside.

Every price, quantity and amount inside E-Mudra-Bajar is an ``int``: a price is a count of ticks, a
quantity a count of lots, a balance a count of the asset's minor units. This module is the only place
that scales between those integers and decimal strings. It rejects (never rounds) a value that is off
the grid, zero, negative, non-finite, malformed or larger than the bound, by raising
:class:`ConversionError`. Binary floats are refused outright: a JSON number must reach this module as a
``Decimal`` (parse JSON with ``parse_float=Decimal``).
"""

from __future__ import annotations

import re
from decimal import Decimal

#: The largest price, quantity or amount accepted, in units (API.md: "at most 1,000,000,000").
MAX_UNITS = Decimal(1_000_000_000)

# A plain decimal string: digits, an optional fraction. No sign, exponent, spaces or thousands separators.
_DECIMAL_STRING = re.compile(r"[0-9]{1,40}(?:\.[0-9]{1,40})?")
# Digits of a value's exponent beyond which it cannot be on any grid we list, or is absurdly large.
_MAX_ADJUSTED_EXPONENT = 30
_MIN_EXPONENT = -40


class ConversionError(ValueError):
    """A value that cannot be turned into whole grid units; ``reason`` says why, for the error message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_decimal(value: object) -> Decimal:
    """Parse a decimal string, an int or a Decimal exactly; refuse floats, bools and anything else."""
    if isinstance(value, (bool, float)):
        raise ConversionError("must be a decimal string, not a binary floating-point number")
    if isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, Decimal):
        result = value
    elif isinstance(value, str):
        if not _DECIMAL_STRING.fullmatch(value):
            raise ConversionError(f"{_show(value)} is not a plain decimal number")
        result = Decimal(value)
    else:
        raise ConversionError("must be a decimal string")
    if not result.is_finite():
        raise ConversionError("must be a finite number")
    return result


def _integer_scale(value: Decimal) -> tuple[int, int]:
    """A finite Decimal as (integer, exponent), exactly: no context precision, no rounding."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    mantissa = int("".join(map(str, digits))) if digits else 0
    return (-mantissa if sign else mantissa), exponent


def step_scale(step: Decimal) -> tuple[int, int]:
    """Split a positive grid step into (integer, decimals): 0.05 -> (5, 2), 10 -> (10, 0)."""
    if not step.is_finite() or step <= 0:
        raise ConversionError("a step must be a positive number")
    mantissa, exponent = _integer_scale(step)
    if exponent >= 0:
        return mantissa * 10**exponent, 0
    return mantissa, -exponent


def to_units(value: object, step: Decimal, max_value: Decimal = MAX_UNITS) -> int:
    """Convert ``value`` to a positive whole number of ``step``; raise ConversionError otherwise.

    Integer arithmetic throughout: Decimal operations round to the context's 28 digits, which would let
    a long off-grid value pass as on-grid.
    """
    number = parse_decimal(value)
    if number <= 0:
        raise ConversionError("must be greater than zero")
    if number.adjusted() > _MAX_ADJUSTED_EXPONENT or number > max_value:
        raise ConversionError(f"must be at most {max_value}")
    mantissa, exponent = _integer_scale(number)
    if exponent < _MIN_EXPONENT:
        raise ConversionError(f"must be a multiple of {step}")
    step_int, decimals = step_scale(step)
    shift = exponent + decimals  # value in units of 10**-decimals = mantissa * 10**shift
    if shift >= 0:
        scaled = mantissa * 10**shift
    else:
        divisor = 10**-shift
        if mantissa % divisor:
            raise ConversionError(f"must be a multiple of {step}")
        scaled = mantissa // divisor
    if scaled % step_int:
        raise ConversionError(f"must be a multiple of {step}")
    return scaled // step_int


def format_units(amount: int, decimals: int) -> str:
    """Render an integer count of 10**-decimals as a decimal string: (10150, 2) -> "101.50"."""
    if decimals == 0:
        return str(amount)
    negative = amount < 0
    digits = str(-amount if negative else amount)
    if len(digits) <= decimals:
        digits = "0" * (decimals + 1 - len(digits)) + digits
    # Slicing the digits is ~2x faster than divmod + rjust once compiled (measured with mypyc here).
    text = digits[:-decimals] + "." + digits[-decimals:]
    return "-" + text if negative else text


def _show(value: str) -> str:
    return repr(value if len(value) <= 24 else value[:21] + "...")
