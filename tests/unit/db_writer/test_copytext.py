"""COPY text encoding (db_writer/copytext.py): exact values, escapes, NULLs, and type checks."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from db_writer import copytext
from db_writer.copytext import NotText, encode

_UNESCAPE = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}


def parse(data: bytes) -> list[tuple[Any, ...]]:
    """PostgreSQL's reading of COPY text (the subset encode emits): rows of str, or None for \\N."""
    rows = []
    for line in data.decode().split("\n")[:-1]:
        fields = line.split("\t")
        rows.append(tuple(None if f == "\\N" else re.sub(r"\\(.)", lambda m: _UNESCAPE[m[1]], f)
                          for f in fields))
    return rows


def as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def normalised(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Booleans as PostgreSQL reads them (both 'True' and 't' are true)."""
    return [tuple({"True": "true", "t": "true", "False": "false", "f": "false"}.get(v, v)
                  if isinstance(v, str) else v for v in row) for row in rows]


values = st.one_of(st.integers(-(2**130), 2**130), st.text(), st.none(), st.booleans())


@given(st.lists(st.tuples(values, values, values), max_size=20))
def test_every_row_reads_back_as_its_values(rows):
    data = encode(rows, 3, nullable=True)
    assert normalised(parse(data)) == normalised([tuple(map(as_text, row)) for row in rows])


def test_integers_are_their_exact_digits_far_beyond_bigint():
    big = 2**64 * 10**9 + 7
    assert encode([(big, -big, 0)], 3) == f"{big}\t{-big}\t0\n".encode()


def test_plain_rows_take_one_format_per_row_and_awkward_ones_are_escaped():
    assert encode([("a", 1), ("b", 2)], 2) == b"a\t1\nb\t2\n"
    assert encode([("a\tb", 1)], 2) == b"a\\tb\t1\n"
    assert encode([("x\\N", None)], 2, nullable=True) == b"x\\\\N\t\\N\n"
    assert encode([("None", None)], 2, nullable=True) == b"None\t\\N\n"
    assert encode([("line\r\n", True)], 2) in (b"line\\r\\n\tt\n", b"line\\r\\n\tTrue\n")
    assert encode([], 5) == b""


@pytest.mark.parametrize("bad", [None, 5, 1.5, b"bytes", True])
def test_a_text_column_must_hold_a_str(bad):
    with pytest.raises(NotText):
        encode([(1, bad)], 2, typed=[((1,), str)])


def test_a_boolean_column_must_hold_a_bool():
    """(Integer columns are checked before encode, by rows.py: tests/unit/db_writer/test_rows.py.)"""
    with pytest.raises(NotText):
        encode([(1, 1)], 2, typed=[((1,), bool)])
    with pytest.raises(NotText):  # a value encode cannot write at all, on the escaping path
        encode([("a\tb", 1.5)], 2)
    assert copytext.check_types([(1, "a", True)], [((1,), str), ((2,), bool)]) is None
