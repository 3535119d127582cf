"""COPY CSV data (db_writer/copycsv.py): exact values whatever the texts hold, on both encoders."""

from __future__ import annotations

import msgspec
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from db_writer import copycsv
from db_writer.rows import Batch, decode_entry, events_to_rows
from shared.events import BalanceChanged, OrderState, OrderUpdated, Trade, encode_events, encode_stored_rows
from shared.types import OrderStatus, OrderType, Side, TimeInForce
from tests.support.factories import T0
from tests.support.history import copy_rows

# Texts that look like the CSV or JSON structure the typed path rewrites, or need escaping.
AWKWARD = ["a,b", "x]", '],["trade",', ",[", ",null]],", "null", "true", '"', '""', "\\", "\\N", "tab\t",
           "new\nline", "cr\rlf", "ünï©ødé ₹", "", " ", "[", "]]", "\\.", "'"]
texts = st.one_of(st.sampled_from(AWKWARD), st.text(max_size=12))
amounts = st.integers(-(2**63), 2**64 - 1)  # what the engine's JSON (orjson) can carry


def entry(events: list) -> dict[bytes, bytes]:
    return {b"s": b"all", b"e": encode_events(events)}


def both_paths(events: list) -> list[bytes]:
    """The COPY data of each table from the typed decoder; asserts the original path gives the same."""
    results = []
    trades, orders, balances = encode_stored_rows(events)
    grouped = {b"s": b"all", b"t": trades, b"o": orders, b"b": balances}
    for rows in (decode_entry(entry(events)), events_to_rows("all", orjson.loads(encode_events(events))),
                 decode_entry(grouped)):
        batch = Batch()
        batch.add(rows)
        results.append([batch.trades_copy(), b"".join(batch.balance_copy),
                        batch.order_copy(batch.orders)])
    assert results[0] == results[1] == results[2]
    return results[0]


@settings(max_examples=150)
@given(user=texts, maker=texts, market=texts, asset=texts, client=st.one_of(st.none(), texts),
       quote=amounts, balance=st.integers(0, 2**63))
def test_every_value_reads_back_exactly_whatever_the_texts_hold(user, maker, market, asset, client, quote,
                                                                 balance):
    trade = Trade(7, T0, market, 3, 10_000, 2, quote, Side.BUY, 5, 7, maker, user)
    state = OrderState(7, user, market, Side.BUY, OrderType.LIMIT, None if client else 10_000, 2, 2, quote,
                       OrderStatus.FILLED, TimeInForce.IOC, True, client, T0, ())
    change = BalanceChanged(7, T0 + 1, user, asset, balance, 0, -balance, 0)
    trades, balances, orders = both_paths([trade, OrderUpdated(7, T0, state), change])
    assert copy_rows(trades) == [(7, T0, market, 3, 10_000, 2, quote, "buy", 5, 7, maker, user, "all")]
    assert copy_rows(balances) == [(7, T0 + 1, user, asset, balance, 0, -balance, 0, "all")]
    assert copy_rows(orders) == [(7, T0, 7, user, market, "buy", "limit", None if client else 10_000, 2, 2,
                                  quote, "filled", "IOC", True, client, T0, "all")]


def test_plain_texts_take_the_json_path_and_escapes_the_value_by_value_one():
    trade = Trade(7, T0, "TATA-INR", 3, 10_000, 2, 20_000, Side.BUY, 5, 7, "m,[x]", "null")
    encoded = msgspec.json.encode([["trade", *[getattr(trade, f) for f in Trade.FIELDS]]])
    data = copycsv.from_json(encoded, "trade", b'"all"', 1)
    assert data == b'7,%d,"TATA-INR",3,10000,2,20000,"buy",5,7,"m,[x]","null","all"\n' % T0
    assert copycsv.from_json(encoded.replace(b"null", b"nu\\\\ll"), "trade", b'"all"', 1) is None
    assert copycsv.from_json(encoded, "balance", b'"all"', 1) is None  # not the expected events


def test_an_order_state_with_an_opening_bracket_in_a_text_takes_the_value_by_value_path():
    state = OrderState(7, "u,[1", "TATA-INR", Side.BUY, OrderType.LIMIT, 10_000, 2, 0, 0, OrderStatus.NEW,
                       TimeInForce.GTC, False, None, T0, ())
    _, _, orders = both_paths([OrderUpdated(7, T0, state)])
    assert copy_rows(orders)[0][3] == "u,[1"


@pytest.mark.parametrize("value", [1.5, b"bytes", object()])
def test_a_value_of_another_type_is_refused(value):
    with pytest.raises(copycsv.NotText):
        copycsv.encode([(1, value)])


def test_types_are_checked_exactly():
    copycsv.check_types([(1, "a", True, None)], [((1,), str), ((2,), bool), ((3,), (str, type(None)))])
    with pytest.raises(copycsv.NotText, match="bool column holds int"):
        copycsv.check_types([(1, "a", 1)], [((2,), bool)])
    with pytest.raises(copycsv.NotText, match="str column holds bool"):
        copycsv.check_types([(True, "a")], [((0, 1), str)])


@pytest.mark.parametrize("space", [b" ", b"\n", b"\r", b"\t"])
def test_json_with_whitespace_is_left_to_the_value_by_value_encoder(space):
    """JSON may put whitespace between values; CSV may not (PostgreSQL reads ' "alice"' as ' alice')."""
    plain = b'[[5,"alice"],[6,"bob"]]'
    assert copycsv.from_rows_json(plain, b'"s"', 2) == b'5,"alice","s"\n6,"bob","s"\n'
    assert copycsv.rows_json_pieces(plain, 2) == [b'5,"alice"', b'6,"bob"']
    for data in (plain.replace(b",", b"," + space), plain.replace(b'"bob"', b'"b' + space + b'b"')):
        assert copycsv.from_rows_json(data, b'"s"', 2) is None
        assert copycsv.rows_json_pieces(data, 2) is None
