"""Rows -> PostgreSQL's COPY text format, exactly, for COPY straight into the real tables.

Why text and not asyncpg's binary COPY: binary ``numeric`` from a Python int goes through
``decimal.Decimal(value).as_tuple()`` in asyncpg, ~34 us of client CPU per trade for the 18 amounts of a
trade's rows (measured 2026-11-26), against well under 1 us per row for ``%``-formatting the row. In
text every integer is its exact decimal digits and ``numeric(39,0)`` parses any of them, so there is no
BIGINT limit either; no float is involved anywhere.

Each row is one ``"%s\\t%s...\\n" % row``. That needs no escaping when the result has no backslash
(other than the ``\\N`` of NULLs) and no carriage return, and exactly one tab between columns and one
newline per row (a value holding a tab or a newline would add one): all checked on the whole text at
once. Otherwise the rows are encoded value by value with the format's escapes.

The integer columns must already be checked to hold ``int`` (rows.py does: ``%s`` of a float would be
rounded into a NUMERIC column); :func:`encode` checks the text and boolean columns it is told about.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from itertools import chain
from operator import itemgetter
from typing import Any

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NULL = "\\N"

Typed = tuple[tuple[int, ...], type]  # the columns at these positions must hold exactly this type


class NotText(TypeError):
    """A value of the wrong type for its column (a malformed event): nothing is sent."""


@cache
def _row_format(width: int) -> str:
    return "\t".join(["%s"] * width) + "\n"


def check_types(rows: Sequence[tuple[Any, ...]], typed: Sequence[Typed]) -> None:
    """NotText unless each column of ``typed`` holds exactly its type (not a subclass: bool is no int)."""
    for positions, kind in typed:
        if len(positions) == 1:
            kinds = set(map(type, map(itemgetter(positions[0]), rows)))
        else:
            kinds = set(map(type, chain.from_iterable(map(itemgetter(*positions), rows))))
        if kinds - {kind}:
            names = ", ".join(sorted(k.__name__ for k in kinds - {kind}))
            raise NotText(f"a {kind.__name__} column holds {names}")


def encode(rows: Sequence[tuple[Any, ...]], width: int, typed: Sequence[Typed] = (),
           nullable: bool = False) -> bytes:
    """The COPY text of ``rows`` (``width`` columns each), one line per row.

    ``typed``: the text and boolean columns to check (None in a NOT NULL one fails here). ``nullable``:
    rows may hold None (NULL); without it, a None can only be in a column the caller checked.
    """
    if not rows:
        return b""
    check_types(rows, typed)
    row_format = _row_format(width)
    nulls = 0
    if nullable:
        parts = []
        for row in rows:
            if None in row:
                nulls += row.count(None)
                row = tuple([NULL if value is None else value for value in row])
            parts.append(row_format % row)
    else:
        parts = [row_format % row for row in rows]
    text = "".join(parts)
    if (text.count("\\") == nulls and "\r" not in text and text.count("\n") == len(rows)
            and text.count("\t") == len(rows) * (width - 1)):
        return text.encode()
    return "".join(["\t".join([_field(value) for value in row]) + "\n" for row in rows]).encode()


def _field(value: Any) -> str:
    if value is None:
        return NULL
    if value is True:
        return "t"
    if value is False:
        return "f"
    if type(value) is str:
        return value.translate(_ESCAPES)
    if type(value) is int:
        return str(value)
    raise NotText(f"cannot COPY a {type(value).__name__} as text")
