"""The pure row mapping: engine events, encoded as the engine writes them to the stream, -> table rows."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from itertools import pairwise
from operator import itemgetter
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from db_writer.rows import (
    BALANCE_COLUMNS,
    CANDLE_COLUMNS,
    FILL_SPAN_MS,
    ORDER_COLUMNS,
    TRADE_COLUMNS,
    BadEntry,
    Batch,
    EntryRows,
    candles,
    decode_entries,
    decode_entry,
    entry_time_ms,
    events_to_rows,
    fill_lists,
)
from engine.core import Engine
from shared.events import (
    BalanceChanged,
    Event,
    OrderState,
    OrderUpdated,
    Trade,
    encode_events,
    encode_stored_rows,
    stored_events,
)
from shared.types import Side
from tests.support.factories import (
    T0,
    cancel,
    cancel_all,
    deposit,
    limit,
    market_order,
    new_engine,
)
from tests.support.history import CANDLE_FIELDS, copy_rows
from tests.support.history import candles as expected_candles
from tests.support.kline_fixture import EXPECTED, FIXTURE
from tests.support.strategies import scenarios


def tables(rows: EntryRows | Batch) -> tuple[list[tuple], dict[tuple[str, int], tuple], list[tuple]]:
    """The trade, order (by key) and balance rows that an entry's or a batch's COPY data holds."""
    batch = rows if isinstance(rows, Batch) else Batch()
    if isinstance(rows, EntryRows):
        batch.add(rows)
    orders = copy_rows(batch.order_copy(batch.orders))
    market, order_id = ORDER_COLUMNS.index("market"), ORDER_COLUMNS.index("order_id")
    by_key = {(row[market], row[order_id]): row for row in orders}
    assert len(by_key) == len(orders)
    return (copy_rows(batch.trades_copy()), by_key, copy_rows(b"".join(batch.balance_copy)))


def order_row(event: OrderUpdated, shard: str) -> tuple:
    """An order event's row by column name (independent of rows.py)."""
    named = {"seq": event.seq, "updated_at": event.ts, "shard": shard}
    return tuple(named[c] if c in named else getattr(event.order, c) for c in ORDER_COLUMNS)


def entry(events: list[Event], shard: str = "all") -> dict[bytes, bytes]:
    """A stream entry in the format the engine wrote until 2026-11-26 (one array of events)."""
    return {b"s": shard.encode(), b"e": encode_events(events)}


def rows_entry(events: list[Event], shard: str = "all") -> dict[bytes, bytes]:
    """A stream entry exactly as the engine's runner XADDs it (rows grouped per table)."""
    trades, orders, balances = encode_stored_rows(stored_events(events))
    return {b"s": shard.encode(), b"t": trades, b"o": orders, b"b": balances}


def trading_events() -> tuple[Engine, list[Event]]:
    """Deposits, a resting sell, a buy that fills part of it, a cancel and a rejected cancel."""
    engine = new_engine()
    events: list[Event] = []
    for command in (deposit("alice", "INR", 10_000_000), deposit("bob", "TATA", 100),
                    limit("bob", "sell", 10_000, 5, client_order_id="s1"),
                    limit("alice", "buy", 10_100, 3, ts=T0 + 1_500), cancel("bob", 3, ts=T0 + 2_000),
                    cancel("bob", 99, ts=T0 + 2_001)):
        events.extend(engine.apply(command))
    return engine, events


def test_a_trade_becomes_one_row_with_every_column():
    _, events = trading_events()
    trades, _, _ = tables(events_to_rows("all", orjson.loads(encode_events(events))))
    assert trades == [(4, T0 + 1_500, "TATA-INR", 1, 10_000, 3, 30_000, "buy", 3, 4, "bob", "alice", "all")]
    assert len(TRADE_COLUMNS) == len(trades[0])


def test_each_order_keeps_its_last_state_with_the_commands_seq_and_time():
    _, events = trading_events()
    rows = events_to_rows("all", orjson.loads(encode_events(events)))
    _, orders, _ = tables(rows)
    assert set(orders) == {("TATA-INR", 3), ("TATA-INR", 4)}
    assert orders[("TATA-INR", 3)] == (5, T0 + 2_000, 3, "bob", "TATA-INR", "sell", "limit", 10_000, 5, 3,
                                       30_000, "cancelled", "GTC", False, "s1", T0, "all")
    assert orders[("TATA-INR", 4)] == (4, T0 + 1_500, 4, "alice", "TATA-INR", "buy", "limit", 10_100, 3, 3,
                                       30_000, "filled", "GTC", False, None, T0 + 1_500, "all")
    assert all(len(row) == len(ORDER_COLUMNS) for row in orders.values())
    assert rows.placed == {("TATA-INR", 3), ("TATA-INR", 4)}  # both placed by a command of the entry


def test_an_order_placed_by_an_earlier_entry_is_not_placed_by_this_one():
    _, events = trading_events()
    later = decode_entry(entry([e for e in events if e.seq > 4]))  # the cancel of order 3
    assert set(later.orders) == {("TATA-INR", 3)} and later.placed == set()


def test_balance_changes_carry_deltas_and_balances_after_the_command():
    _, events = trading_events()
    rows = events_to_rows("all", orjson.loads(encode_events(events)))
    _, _, balances = tables(rows)
    by_key = {(row[0], row[2], row[3]): row for row in balances}
    assert by_key[(4, "alice", "INR")] == (4, T0 + 1_500, "alice", "INR", 9_970_000, 0, -30_000, 0, "all")
    assert by_key[(5, "bob", "TATA")] == (5, T0 + 2_000, "bob", "TATA", 97, 0, 2, -2, "all")
    assert len(balances) == rows.balances == sum(isinstance(e, BalanceChanged) for e in events)
    assert all(len(row) == len(BALANCE_COLUMNS) for row in balances)
    assert rows.balance_seqs == (1, 5)  # the deposits' seqs to the cancel's


def test_depth_updates_and_rejections_are_counted_but_not_stored():
    _, events = trading_events()
    rows = events_to_rows("all", orjson.loads(encode_events(events)))
    assert rows.events == len(events)
    assert rows.newest_ts == T0 + 2_001  # the rejected cancel is the newest event


def random_flow(users: int = 6, commands: int = 300, seed: int = 11) -> list[Event]:
    """Limit and market orders and cancels of a few users against each other (many trades)."""
    engine = new_engine()
    rng = random.Random(seed)
    names = [f"u{i}" for i in range(users)]
    events: list[Event] = []
    for user in names:
        events += engine.apply(deposit(user, "INR", 100_000_000)) + engine.apply(deposit(user, "TATA", 1_000))
    for i in range(commands):
        user, side, ts = rng.choice(names), rng.choice(["buy", "sell"]), T0 + i * 7
        if rng.random() < 0.8:
            events += engine.apply(limit(user, side, rng.randint(9_990, 10_010), rng.randint(1, 4), ts=ts))
        elif rng.random() < 0.5:
            events += engine.apply(market_order(user, side, rng.randint(1, 3), ts=ts))
        else:
            events += engine.apply(cancel_all(user, ts=ts))
    return events


def test_rows_follow_each_event_class_fields_by_name():
    """An independent mapping (attributes by column name) gives the same rows for a random flow."""
    events = random_flow(users=3, seed=7)
    rows = tables(events_to_rows("s1", orjson.loads(encode_events(events))))
    assert rows == tables(decode_entry(entry(events, "s1")))  # the typed decoder too
    assert rows == tables(decode_entry(rows_entry(events, "s1")))  # and the engine's grouped rows
    trades = [e for e in events if isinstance(e, Trade)]
    assert len(trades) > 50
    assert rows[0] == [(*(getattr(t, c) for c in TRADE_COLUMNS[:-1]), "s1") for t in trades]
    last: dict[tuple[str, int], OrderUpdated] = {}
    for event in events:
        if isinstance(event, OrderUpdated):
            last[(event.order.market, event.order.order_id)] = event
    assert rows[1] == {key: order_row(e, "s1") for key, e in last.items()}
    balances = [e for e in events if isinstance(e, BalanceChanged)]
    assert rows[2] == [(*(getattr(b, c) for c in BALANCE_COLUMNS[:-1]), "s1") for b in balances]


@settings(max_examples=40)
@given(scenario=scenarios(max_size=80), cuts=st.lists(st.integers(0, 10_000), max_size=6))
def test_any_split_into_entries_sums_to_the_engines_balances(scenario, cuts):
    engine = new_engine(scenario.retention_ms)
    per_command = [engine.apply(command) for command in scenario.commands]
    bounds = sorted({c % (len(per_command) + 1) for c in cuts} | {0, len(per_command)})
    # Both formats in one batch (a writer upgraded with entries of the old engine still in the stream).
    entries = [(b"%d-0" % i, (rows_entry if i % 2 else entry)([e for cmd in per_command[a:b] for e in cmd]))
               for i, (a, b) in enumerate(pairwise(bounds))]
    random.Random(len(cuts)).shuffle(entries)  # arrival order must not matter for orders either
    batch, bad = decode_entries(entries)
    assert bad == []
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    _, orders, balances = tables(batch)
    for row in balances:
        sums[(row[2], row[3])][0] += row[6]
        sums[(row[2], row[3])][1] += row[7]
    for (user, asset), (available, locked) in sums.items():
        assert engine.balances(user)[asset] == (available, locked)
    final = {}
    for event in (e for cmd in per_command for e in cmd):
        if isinstance(event, OrderUpdated):
            final[(event.order.market, event.order.order_id)] = event
    assert orders == {key: order_row(event, "all") for key, event in final.items()}


def test_a_batch_keeps_the_order_state_with_the_highest_seq_whatever_the_arrival_order():
    _, events = trading_events()
    first = [e for e in events if e.seq <= 4]
    second = [e for e in events if e.seq > 4]
    for order in ([(b"1-0", entry(first)), (b"2-0", entry(second))],
                  [(b"2-0", entry(second)), (b"1-0", entry(first))]):
        batch, _ = decode_entries(order)
        assert tables(batch)[1][("TATA-INR", 3)][ORDER_COLUMNS.index("status")] == "cancelled"
        assert batch.entries == 2
        assert batch.newest_ts == T0 + 2_001


def test_an_empty_batch_has_no_rows():
    batch = Batch()
    assert (batch.trades, batch.orders, batch.balances, batch.newest_ts) == (0, {}, 0, 0)
    assert not batch.has_rows() and tables(batch) == ([], {}, [])


TRADE = ["trade", 4, T0, "TATA-INR", 1, 10_000, 3, 30_000, "buy", 3, 4, "bob", "alice"]


@pytest.mark.parametrize("fields, reason", [
    ({b"e": b"[]"}, "no 's'"),
    ({b"s": b"all"}, "no 's'"),
    ({b"s": b"all", b"e": b"not json"}, "undecodable"),
    ({b"s": b"\xff", b"e": b"[]"}, "undecodable"),
    ({b"s": b"all", b"e": b"{}"}, "not a JSON array"),
    ({b"s": b"all", b"e": b"[1]"}, "malformed event"),
    ({b"s": b"all", b"e": b"[[]]"}, "malformed event"),
    ({b"s": b"all", b"e": b'[["depth"]]'}, "malformed event"),
    ({b"s": b"all", b"e": b'[["balance", 1, 1.5, "u", "INR", 1, 0, 1, 0]]'}, "event time"),
    ({b"s": b"all", b"e": orjson.dumps([["fill", 1]])}, "unknown event type"),
    ({b"s": b"all", b"e": orjson.dumps([TRADE[:-1]])}, "wrong number of fields"),
    ({b"s": b"all", b"e": orjson.dumps([["order", 1, T0, [1, 2]]])}, "well-formed order"),
    ({b"s": b"all", b"e": orjson.dumps([[*TRADE[:5], 100.5, *TRADE[6:]]])}, "non-integer amount"),
    ({b"s": b"all", b"e": orjson.dumps([[*TRADE[:6], True, *TRADE[7:]]])}, "non-integer amount"),
    ({b"s": b"all", b"e": orjson.dumps([[*TRADE[:7], None, *TRADE[8:]]])}, "non-integer amount"),
    ({b"s": b"all", b"e": orjson.dumps([["balance", 1, T0, "u", "INR", 1.0, 0, 1, 0]])}, "non-integer"),
])
def test_a_malformed_entry_is_refused_with_a_reason(fields, reason):
    with pytest.raises(BadEntry, match=reason):
        decode_entry(fields)


def test_a_malformed_entry_does_not_spoil_the_others():
    _, events = trading_events()
    batch, bad = decode_entries([(b"1-0", entry(events)), (b"2-0", {b"s": b"all", b"e": b"[1]"})])
    assert [entry_id for entry_id, _ in bad] == [b"2-0"]
    assert batch.trades == 1 and batch.entries == 1


def test_an_order_price_must_be_an_integer_or_null():
    _, events = trading_events()
    order: list[Any] = next(e for e in orjson.loads(encode_events(events)) if e[0] == "order")
    assert events_to_rows("all", [order]).orders
    order[3][OrderState.FIELDS.index("price")] = "100.00"
    with pytest.raises(BadEntry, match="price"):
        events_to_rows("all", [order])


def test_the_time_of_an_entry_is_the_first_part_of_its_id():
    assert entry_time_ms(b"1700000000123-7") == 1_700_000_000_123
    assert entry_time_ms("42-0") == 42


WIDTHS = (1_000, 60_000, 3_600_000, 86_400_000)


def candle_rows(trades: list[Trade], widths: tuple[int, ...] = WIDTHS
                ) -> dict[int, dict[tuple[str, int], tuple]]:
    """candles() of the trades' rows, by width: (market, open_time) -> the CANDLE_FIELDS values."""
    rows = [events_to_rows("all", orjson.loads(encode_events([t]))).candle_trades[0] for t in trades]
    result: dict[int, dict[tuple[str, int], tuple]] = defaultdict(dict)
    for row in candles(rows, widths):
        values = dict(zip(CANDLE_COLUMNS, row, strict=True))
        key = (values["market"], values["open_time"])
        assert key not in result[values["width"]]
        result[values["width"]][key] = tuple(values[f] for f in CANDLE_FIELDS)
    return result


def test_candles_of_the_hand_checked_fixture_in_any_order():
    trades = list(FIXTURE.values())
    for seed in range(5):
        random.Random(seed).shuffle(trades)
        by_width = candle_rows(trades)
        tables = ("candles_1s", "candles_1m", "candles_1h", "candles_1d")
        for table, width in zip(tables, WIDTHS, strict=True):
            assert by_width[width] == EXPECTED[table], (table, seed)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3 * 86_400_000), st.integers(1, 10**6), st.integers(1, 10**4),
                          st.sampled_from(["TATA-INR", "INFY-INR"])), max_size=60),
       st.randoms(use_true_random=False))
def test_candles_equal_a_plain_sort_and_group_of_the_trades(specs, rng):
    trades = [Trade(i, ts, market, i, price, quantity, price * quantity * 10**8, Side.BUY, 1, 2, "a", "b")
              for i, (ts, price, quantity, market) in enumerate(specs, start=1)]
    rng.shuffle(trades)
    by_width = candle_rows(trades)
    for width in WIDTHS:
        assert by_width.get(width, {}) == expected_candles(trades, width), width


def test_the_typed_decoder_gives_the_rows_of_the_original_path():
    _, events = trading_events()
    typed = decode_entry(entry(events))
    original = events_to_rows("all", orjson.loads(encode_events(events)))
    assert typed.typed and not original.typed
    assert (typed.trade_copy, typed.balance_copy, typed.candle_trades, typed.placed, typed.events,
            typed.newest_ts, typed.balance_seqs) == (
        original.trade_copy, original.balance_copy, original.candle_trades, original.placed, original.events,
        original.newest_ts, original.balance_seqs)
    typed_batch, original_batch = Batch(), Batch()
    typed_batch.add(typed)
    original_batch.add(original)
    assert typed_batch.order_copy(typed_batch.orders) == original_batch.order_copy(original_batch.orders)


def test_a_batch_of_grouped_entries_sends_each_order_state_as_the_engine_wrote_it():
    """The states a batch keeps are the engine's own JSON rows made CSV: the same bytes as encoding them
    again, for the orders placed in the batch and for the others alike."""
    _, events = trading_events()
    stored = stored_events(events)
    for cut in range(1, len(stored)):
        grouped, original = Batch(), Batch()
        for part in (stored[:cut], stored[cut:]):
            grouped.add(decode_entry(rows_entry(part)))
            original.add(events_to_rows("all", orjson.loads(encode_events(part))))
        assert grouped.raw_orders and not original.raw_orders
        placed = {(e.order.market, e.order.order_id) for e in stored
                  if isinstance(e, OrderUpdated) and e.seq == e.order.order_id}
        assert grouped.split_orders() == original.split_orders() == (placed, grouped.orders.keys() - placed)
        for keys in (*grouped.split_orders(), grouped.orders):
            assert grouped.order_copy(keys) == original.order_copy(keys), cut
        expected = [sorted(grouped.order_copy(keys).splitlines()) for keys in grouped.split_orders()]
        for batch in (grouped, original):  # (rows in any order)
            assert [sorted(copy.splitlines()) for copy in batch.order_copies()] == expected, cut


def grouped_by(rows: list[tuple], column: int) -> list[tuple]:
    """``rows`` grouped by one column's value: groups in the order of their first row, rows in theirs."""
    first: dict[Any, int] = {}
    for row in rows:
        first.setdefault(row[column], len(first))
    return sorted(rows, key=lambda row: first[row[column]])


def test_a_batch_copies_trades_in_command_order_and_placed_orders_grouped_by_user():
    """Each user's entries of orders_user_created go in one after the other (Batch's docstring says why);
    one user's rows keep the order of their commands; trades keep the order of the entries; each shard's
    rows carry their shard; nothing is lost or added."""
    events = random_flow()
    user, order_id = ORDER_COLUMNS.index("user_id"), ORDER_COLUMNS.index("order_id")
    batch, original = Batch(), Batch()
    a, b = len(events) // 3, 2 * len(events) // 3
    for part, shard in ((events[:a], "s1"), (events[a:b], "s2"), (events[b:], "s1")):
        batch.add(decode_entry(rows_entry(part, shard)))
        original.add(events_to_rows(shard, orjson.loads(encode_events(part))))
    trades = copy_rows(batch.trades_copy())
    assert trades == copy_rows(b"".join(original.trade_copy)) and len(trades) > 50
    assert {row[-1] for row in trades} == {"s1", "s2"}
    # Two shards: the orders go the general way (command order); with one shard, grouped by user.
    assert batch.order_copies()[0] == batch.order_copy(batch.split_orders()[0])
    one = Batch()
    one.add(decode_entry(rows_entry(events)))
    placed = copy_rows(one.order_copies()[0])
    expected = sorted(copy_rows(one.order_copy(one.split_orders()[0])), key=itemgetter(order_id))
    assert placed == grouped_by(expected, user) and len(placed) > 50 and len({r[user] for r in placed}) == 6


def test_trades_of_entries_of_both_formats_are_copied_in_the_order_of_the_entries():
    events = random_flow(commands=120)
    half = len(events) // 2
    batch = Batch()
    batch.add(decode_entry(rows_entry(events[:half])))
    batch.add(decode_entry(entry(events[half:])))
    expected = copy_rows(events_to_rows("all", orjson.loads(encode_events(events))).trade_copy)
    assert copy_rows(batch.trades_copy()) == expected and len(expected) > 20


def test_an_order_row_with_a_text_holding_the_row_boundary_is_encoded_again():
    _, events = trading_events()
    shifty = [e.replace(order=e.order.replace(client_order_id="x],[y")) if isinstance(e, OrderUpdated) else e
              for e in stored_events(events)]
    grouped, original = Batch(), Batch()
    grouped.add(decode_entry(rows_entry(shifty)))
    original.add(events_to_rows("all", orjson.loads(encode_events(shifty))))
    assert not grouped.raw_orders
    assert grouped.order_copy(grouped.orders) == original.order_copy(original.orders)


def test_grouped_rows_give_what_the_events_give():
    _, events = trading_events()
    grouped, original = decode_entry(rows_entry(events)), decode_entry(entry(events))
    assert tables(grouped) == tables(original)
    assert (grouped.balance_copy, grouped.candle_trades, grouped.placed, grouped.balance_seqs,
            grouped.typed) == (original.balance_copy, original.candle_trades, original.placed,
                               original.balance_seqs, True)
    assert (grouped.trade_copy, grouped.makers, grouped.takers) == (original.trade_copy, ["bob"], ["alice"])
    stored = stored_events(events)
    assert grouped.events == len(stored) and grouped.newest_ts == max(e.ts for e in stored)


@pytest.mark.parametrize("fields, reason", [
    ({b"s": b"all", b"t": b"[]", b"o": b"[]"}, "no 's'"),
    ({b"s": b"all", b"t": b"[1]", b"o": b"[]", b"b": b"[]"}, "arrays of arrays"),
    ({b"s": b"all", b"t": b"nope", b"o": b"[]", b"b": b"[]"}, "undecodable"),
    ({b"s": b"all", b"t": b"[]", b"o": b"[]", b"b": orjson.dumps([[1, T0, "u", "INR", 1.5, 0, 1, 0]])},
     "non-integer"),
    ({b"s": b"all", b"t": orjson.dumps([TRADE[1:-1]]), b"o": b"[]", b"b": b"[]"}, "wrong number of fields"),
    ({b"s": b"all", b"t": b"[]", b"o": orjson.dumps([[1, T0, 2]]), b"b": b"[]"}, "well-formed order"),
])
def test_malformed_grouped_rows_are_refused_with_a_reason(fields, reason):
    with pytest.raises(BadEntry, match=reason):
        decode_entry(fields)


def test_grouped_rows_the_typed_decoder_refuses_go_to_the_original_path():
    # A text column holding a number: msgspec refuses it, the original decoder names it.
    odd = [*TRADE[1:-1], 12345]
    with pytest.raises(BadEntry, match="str column holds int"):
        decode_entry({b"s": b"all", b"t": orjson.dumps([odd]), b"o": b"[]", b"b": b"[]"})


def test_an_enum_column_with_another_text_is_left_to_the_original_path_and_the_database():
    """side, order type, status and time in force are checked by the typed decoder (shared strings); any
    other text goes the original way, which stores it as before (PostgreSQL's CHECK then refuses it)."""
    _, events = trading_events()
    odd = [e.replace(order=e.order.replace(status="lost")) if isinstance(e, OrderUpdated) else e
           for e in stored_events(events)]
    rows = decode_entry(rows_entry(odd))
    assert not rows.typed
    assert tables(rows) == tables(events_to_rows("all", orjson.loads(encode_events(odd))))
    assert "lost" in {row[ORDER_COLUMNS.index("status")] for row in tables(rows)[1].values()}


def test_an_entry_the_typed_decoder_refuses_is_decoded_by_the_original_path():
    # A rejection with an extra field: the original path skips it whatever its length.
    odd = [TRADE, ["rejected", 5, T0 + 9, "bob", "unknown_order", "no such order", 99, "extra"]]
    rows = decode_entry({b"s": b"all", b"e": orjson.dumps(odd)})
    assert not rows.typed
    assert rows.trade_copy == events_to_rows("all", [TRADE]).trade_copy and rows.newest_ts == T0 + 9
    batch = Batch()
    batch.add(decode_entry(entry(trading_events()[1])))
    assert batch.typed
    batch.add(rows)
    assert not batch.typed


def test_integers_beyond_64_bits_are_read_exactly():
    huge = 2**70 + 1  # orjson would make it a float (and the checks refuse floats)
    balance = ["balance", 1, T0, "whale", "INR", huge, 0, huge, 0]
    payload = b'[["balance",1,%d,"whale","INR",%d,0,%d,0]]' % (T0, huge, huge)
    rows = decode_entry({b"s": b"all", b"e": payload})
    assert copy_rows(rows.balance_copy) == [(1, T0, "whale", "INR", huge, 0, huge, 0, "all")]
    assert balance[5] == huge


def fill_rows(data: bytes) -> list[tuple[str, int, int, list[tuple[str, int, int]]]]:
    """user_fills COPY data read back: (user, first_ts, last_ts, [(market, trade_id, ts), ...]) per row
    (markets that need no quoting in an array literal)."""
    rows = []
    for user, first, last, markets, ids, times in copy_rows(data):
        split = [text.strip("{}").split(",") for text in (markets, ids, times)]
        rows.append((user, first, last, [(m, int(i), int(t)) for m, i, t in zip(*split, strict=True)]))
    return rows


def test_user_fills_list_each_trade_once_for_each_side_in_rows_of_one_minute():
    trades = [e for e in random_flow(users=5, commands=400) if isinstance(e, Trade)]
    edge = 1_700_000_040_000  # a minute's start
    # the same trades moved across minute edges (times from before one edge to after the next)
    step = 150_000 // len(trades)
    trades = [t.replace(ts=edge - 30_000 + i * step) for i, t in enumerate(trades)]
    assert trades[-1].ts >= edge + FILL_SPAN_MS and len(trades) > 100
    rows = fill_rows(fill_lists([(t.market, t.trade_id, 0, 0, 0, t.ts) for t in trades],
                                [t.maker_user_id for t in trades], [t.taker_user_id for t in trades]))
    listed = Counter((user, *ref) for user, _, _, refs in rows for ref in refs)
    assert listed == Counter((user, t.market, t.trade_id, t.ts) for t in trades
                             for user in (t.maker_user_id, t.taker_user_id))
    for _, first, last, refs in rows:
        times = [ts for _, _, ts in refs]
        assert (first, last) == (min(times), max(times)) and first // FILL_SPAN_MS == last // FILL_SPAN_MS
    minutes = Counter(user for user, first, _, _ in rows)
    assert set(minutes.values()) == {3}  # every user traded in each of the three minutes: one row each
    assert fill_lists([], [], []) == b""
