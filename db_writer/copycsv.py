"""COPY data in PostgreSQL's CSV format (``FORMAT csv, NULL 'null'``), exact, for COPY straight into tables.

Why CSV: a JSON array of integers, booleans, nulls and strings that need no escape is already a CSV row
in that dialect: strings are quoted (``"..."``), numbers are their exact digits, ``true``/``false`` are
booleans, and an unquoted ``null`` is NULL (a quoted ``"null"`` stays a string). So the typed decoder's
structs (rows.py) are encoded by msgspec, in C, and :func:`from_json` makes the whole table's rows CSV
with one ``bytes.replace`` of the boundary between two events, which also appends the shard column and
drops each event's type tag. No Python work per value: ~0.5 us of writer CPU per row less than formatting
each row in Python (measured 2026-11-26). Integers of any size stay exact digits (NUMERIC(39,0) takes
them; no float anywhere).

Why that is exact: JSON escapes every backslash, double quote and control character inside a string with
a backslash, so text without a backslash has none of them inside its strings, and the boundary pattern
(which holds unescaped quotes) cannot occur inside a string either. Any backslash sends the rows to
:func:`encode`, which quotes value by value (CSV doubles a quote; newlines and backslashes need nothing).
JSON also allows whitespace between values, which CSV does not: PostgreSQL reads `` "alice"`` as
`` alice``. msgspec's JSON has none; the engine's JSON (:func:`from_rows_json`, :func:`rows_json_pieces`)
has none either, but is taken the fast way only when it holds no whitespace byte at all (one ``memchr``
each), so a text with a space in it costs the slow way (no user id, client order id, market or asset that
the API makes or accepts has one).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

COPY_OPTIONS: dict[str, Any] = {"format": "csv", "null": "null"}  # asyncpg's copy_to_table(...) keywords

Typed = tuple[tuple[int, ...], "type | tuple[type, ...]"]  # these columns must hold exactly this type


class NotText(TypeError):
    """A value of a type the CSV rows cannot hold, or the wrong type for its column: nothing is sent."""


def check_types(rows: Sequence[tuple[Any, ...]], typed: Sequence[Typed]) -> None:
    """NotText unless each column of ``typed`` holds exactly its type(s) (not a subclass: bool is no int)."""
    for positions, kinds in typed:
        allowed = set(kinds) if isinstance(kinds, tuple) else {kinds}
        if len(positions) == 1:
            found = set(map(type, map(itemgetter(positions[0]), rows)))
        else:
            found = set(map(type, chain.from_iterable(map(itemgetter(*positions), rows))))
        if found - allowed:
            names = ", ".join(sorted(k.__name__ for k in found - allowed))
            raise NotText(f"a {'/'.join(sorted(k.__name__ for k in allowed))} column holds {names}")


def from_json(data: bytes, tag: str, shard: bytes, rows: int, nested: bool = False) -> bytes | None:
    """CSV rows from msgspec's JSON of ``rows`` tagged array-like events, the shard appended to each.

    ``data`` is ``[["<tag>",v,...],["<tag>",...]]``; ``shard`` the JSON of the shard id. ``nested``: each
    event is ``["<tag>",seq,ts,[v,...,null]]`` (an order event: the state's values follow seq and ts, and
    its last value, the replaced fills, is dropped). None when the rows need :func:`encode` instead.
    """
    if b"\\" in data or b"\\" in shard:
        return None
    head = b'[["' + tag.encode() + b'",'
    tail = b",null]]]" if nested else b"]]"
    between = (b",null]]," if nested else b"],") + head[1:]
    if not (data.startswith(head) and data.endswith(tail)):
        return None
    end = b"," + shard + b"\n"
    text = data[len(head):-len(tail)].replace(between, end) + end
    if nested:
        # "," + "[" opens each state and can only also occur inside a string: then the count is off.
        if text.count(b",[") != rows:
            return None
        return text.replace(b",[", b",")
    if text.count(b"\n") != rows:
        return None
    return text


def from_rows_json(data: bytes, shard: bytes, rows: int) -> bytes | None:
    """CSV rows from the JSON of ``rows`` flat arrays (``[[v,...],[v,...]]``), the shard appended to each.

    None when the rows need :func:`encode` instead: an escape or whitespace somewhere, or a text holding
    ``],[`` (then there is one row too many). Split and joined rather than ``replace``d and counted: ~0.06
    us less per row (2026-11-26).
    """
    pieces = rows_json_pieces(data, rows) if b"\\" not in shard else None
    return join_pieces(pieces, shard) if pieces else None


def rows_json_pieces(data: bytes, rows: int) -> list[bytes] | None:
    """Each of the ``rows`` flat arrays of ``data`` (``[[v,...],[v,...]]``) as a CSV row without the shard
    and line end (:func:`join_pieces` adds them), or None where :func:`from_rows_json` is: an escape or
    whitespace somewhere, or a text holding ``],[`` (which adds a piece)."""
    if not _plain(data) or data[:2] != b"[[" or data[-2:] != b"]]":
        return None if rows else []
    pieces = data[2:-2].split(b"],[")
    return pieces if len(pieces) == rows else None


def _plain(data: bytes) -> bool:
    """No escape and no JSON whitespace (space, tab, line feed, carriage return) anywhere in ``data``."""
    return not (b"\\" in data or b" " in data or b"\n" in data or b"\r" in data or b"\t" in data)


def join_pieces(pieces: list[bytes], shard: bytes) -> bytes:
    """CSV rows from pieces of :func:`rows_json_pieces`, ``shard`` (its JSON) appended to each."""
    end = b"," + shard + b"\n"
    return end.join(pieces) + end if pieces else b""


def encode(rows: Sequence[tuple[Any, ...]]) -> bytes:
    """The CSV of ``rows`` value by value: the same bytes as :func:`from_json` gives where that applies."""
    return "".join([",".join(map(_field, row)) + "\n" for row in rows]).encode()


def _field(value: Any) -> str:
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is str:
        return '"' + value.replace('"', '""') + '"'
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    raise NotText(f"cannot COPY a {kind.__name__}")
