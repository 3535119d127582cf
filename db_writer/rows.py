"""The pure core of the writer: entries of the ``{ns}:events`` stream -> rows for each table.

An entry is one committed engine batch: ``s`` = the shard id, ``e`` = ``encode_events(...)`` (a JSON
array of ``[type, field, ...]`` in each event class's ``FIELDS`` order, nested records as arrays;
docs/internals.md). Column positions are derived from those ``FIELDS`` tuples by name, so a reordered
event class changes the mapping with it instead of silently swapping columns.

Only trades, order updates and balance changes are stored; depth updates and rejections are not.
Every integer column is checked to hold a Python ``int`` (never a float, a bool or None): the COPY
would otherwise truncate or round a float into a BIGINT or NUMERIC column without a word. An entry that
is not a well-formed batch raises :class:`BadEntry`; the writer sets it aside instead of blocking on it.

Two decoders, one result. Every entry is first decoded by msgspec straight into typed structs (one per
event class, built from its ``FIELDS``: integers must be JSON integers, texts strings, exact lengths), which
checks every type while it parses, in C: ~2x cheaper than ``orjson.loads`` followed by the checks in
Python. An entry msgspec refuses is decoded again by the original path (``orjson`` + :func:`events_to_rows`),
which either accepts it (it is more lenient in places, e.g. an unchecked text column) or says exactly what
is wrong. msgspec also reads integers beyond 64 bits exactly (orjson makes them floats, which the checks
refuse), though the engine's own JSON (orjson) never writes any.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import reduce
from itertools import chain
from operator import attrgetter, itemgetter, or_
from typing import Any

import msgspec
import orjson

from shared.events import EVENT_TYPES, BalanceChanged, OrderState, OrderUpdated, Trade

# Column order of each table's staging rows (the COPY column lists in store.py).
TRADE_COLUMNS: tuple[str, ...] = (
    "market", "trade_id", "price", "quantity", "quote_quantity", "taker_side", "maker_order_id",
    "taker_order_id", "maker_user_id", "taker_user_id", "ts", "seq", "shard",
)
ORDER_COLUMNS: tuple[str, ...] = (
    "order_id", "user_id", "market", "side", "order_type", "price", "quantity", "executed_quantity",
    "executed_quote", "status", "time_in_force", "post_only", "client_order_id", "created_at",
    "updated_at", "seq", "shard",
)
BALANCE_COLUMNS: tuple[str, ...] = (
    "seq", "user_id", "asset", "delta_available", "delta_locked", "available", "locked", "ts", "shard",
)
# Candles aggregated from a batch's trades (:func:`candles`), one row per (width, market, bucket).
CANDLE_COLUMNS: tuple[str, ...] = (
    "width", "market", "open_time", "open", "high", "low", "close", "volume", "quote_volume", "trades",
    "first_trade_id", "last_trade_id",
)

# The fields taken from each event, in column order; the entry's shard id is appended to each row.
_TRADE_FIELDS = TRADE_COLUMNS[:-1]
_ORDER_STATE_FIELDS = ORDER_COLUMNS[:-3]  # then updated_at (the event's ts), seq, shard
_BALANCE_FIELDS = BALANCE_COLUMNS[:-1]

_INT_COLUMNS = {
    "trades": ("trade_id", "price", "quantity", "quote_quantity", "maker_order_id", "taker_order_id",
               "ts", "seq"),
    "orders": ("order_id", "quantity", "executed_quantity", "executed_quote", "created_at", "updated_at",
               "seq"),
    "balances": ("seq", "delta_available", "delta_locked", "available", "locked", "ts"),
}


def _getter(fields: Sequence[str], field_names: tuple[str, ...], offset: int) -> itemgetter[Any]:
    """Pick ``fields`` (by name) out of an encoded record whose values follow ``field_names``."""
    return itemgetter(*(offset + field_names.index(name) for name in fields))


def _positions(columns: tuple[str, ...], names: tuple[str, ...]) -> itemgetter[Any]:
    return itemgetter(*(columns.index(name) for name in names))


# An encoded event is [type, *fields]: offset 1. A nested OrderState is a bare array: offset 0.
_trade_values = _getter(_TRADE_FIELDS, Trade.FIELDS, 1)
_order_state_values = _getter(_ORDER_STATE_FIELDS, OrderState.FIELDS, 0)
_balance_values = _getter(_BALANCE_FIELDS, BalanceChanged.FIELDS, 1)
_ORDER_SEQ = 1 + OrderUpdated.FIELDS.index("seq")
_ORDER_STATE = 1 + OrderUpdated.FIELDS.index("order")
_ORDER_KEY = itemgetter(OrderState.FIELDS.index("market"), OrderState.FIELDS.index("order_id"))
_ORDER_PRICE = ORDER_COLUMNS.index("price")
_TRADE_INTS = _positions(TRADE_COLUMNS, _INT_COLUMNS["trades"])
_ORDER_INTS = _positions(ORDER_COLUMNS, _INT_COLUMNS["orders"])
_BALANCE_INTS = _positions(BALANCE_COLUMNS, _INT_COLUMNS["balances"])
_LENGTHS = {"trade": 1 + len(Trade.FIELDS), "order": 1 + len(OrderUpdated.FIELDS),
            "balance": 1 + len(BalanceChanged.FIELDS)}
_ORDER_STATE_LENGTH = len(OrderState.FIELDS)
_SKIPPED = frozenset({"depth", "rejected"})
# Every event class starts with (seq, ts): the time of any encoded event is at index 2.
_TS = 2
assert all(cls.FIELDS[:2] == ("seq", "ts") for cls in EVENT_TYPES.values())


class BadEntry(ValueError):
    """A stream entry that is not a well-formed engine batch (the message says what is wrong)."""


@dataclass(slots=True)
class Batch:
    """The rows of several stream entries, ready for one transaction.

    ``orders`` keeps one row per (market, order id): the state with the highest (shard, seq), and
    within one command the last one (an upsert cannot touch a row twice in one statement).
    """

    trades: list[tuple[Any, ...]] = field(default_factory=list)
    orders: dict[tuple[str, int], tuple[Any, ...]] = field(default_factory=dict)
    balances: list[tuple[Any, ...]] = field(default_factory=list)
    entries: int = 0
    events: int = 0
    newest_ts: int = 0  # the latest event time in the batch (ms), 0 when it had no event
    typed: bool = True  # every entry came through the typed decoder: the text columns hold str

    def add(self, rows: EntryRows) -> None:
        self.typed = self.typed and rows.typed
        self.trades.extend(rows.trades)
        orders = self.orders
        for key, row in rows.orders.items():
            current = orders.get(key)
            # (shard, seq), as the upsert in store.py compares; on a tie (the same command) the later.
            if current is None or (row[-1], row[-2]) >= (current[-1], current[-2]):
                orders[key] = row
        self.balances.extend(rows.balances)
        self.entries += 1
        self.events += rows.events
        self.newest_ts = max(self.newest_ts, rows.newest_ts)


@dataclass(slots=True)
class EntryRows:
    trades: list[tuple[Any, ...]]
    orders: dict[tuple[str, int], tuple[Any, ...]]
    balances: list[tuple[Any, ...]]
    events: int
    newest_ts: int
    typed: bool = False  # from the typed decoder: every column checked, the text ones included


def decode_entry(fields: dict[bytes, bytes]) -> EntryRows:
    """The rows of one stream entry; BadEntry if it is not a well-formed batch of events."""
    shard = fields.get(b"s")
    payload = fields.get(b"e")
    if shard is None or payload is None:
        raise BadEntry("the entry has no 's' (shard) or no 'e' (events) field")
    try:
        shard_id = shard.decode()
    except UnicodeDecodeError as exc:
        raise BadEntry(f"undecodable entry: {exc}") from None
    try:
        typed = _DECODER.decode(payload)
    except msgspec.DecodeError:  # also ValidationError: the original path says what is wrong, or accepts it
        return _decode_slowly(shard_id, payload)
    return _typed_rows(shard_id, typed)


def _decode_slowly(shard_id: str, payload: bytes) -> EntryRows:
    try:
        events = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise BadEntry(f"undecodable entry: {exc}") from None
    if not isinstance(events, list):
        raise BadEntry("'e' is not a JSON array")
    return events_to_rows(shard_id, events)


def events_to_rows(shard: str, events: list[Any]) -> EntryRows:
    """Map decoded events (``[type, field, ...]`` arrays) of one shard to table rows."""
    try:
        trades, orders, balances = _map_events(shard, events)
        newest = max(map(_event_ts, events), default=0)
    except (TypeError, IndexError, KeyError) as exc:  # an event that is not an array of the right shape
        raise BadEntry(f"malformed event ({type(exc).__name__}: {exc})") from None
    if type(newest) is not int:
        raise BadEntry(f"an event time is not an integer: {newest!r:.40}")
    _check_ints(trades, _TRADE_INTS, "trade")
    _check_ints(orders.values(), _ORDER_INTS, "order")
    _check_ints(balances, _BALANCE_INTS, "balance")
    for row in orders.values():
        price = row[_ORDER_PRICE]
        if price is not None and type(price) is not int:
            raise BadEntry(f"an order price is not an integer: {row!r:.120}")
    return EntryRows(trades, orders, balances, len(events), newest)


_event_ts = itemgetter(_TS)


Row = tuple[Any, ...]


def _map_events(shard: str, events: list[Any]) -> tuple[list[Row], dict[tuple[str, int], Row], list[Row]]:
    """The hot loop (every event of every entry): no checks beyond shape; the caller checks types."""
    trades: list[Row] = []
    orders: dict[tuple[str, int], Row] = {}
    balances: list[Row] = []
    add_trade, add_balance = trades.append, balances.append
    suffix = (shard,)
    balance_length, trade_length, order_length = _LENGTHS["balance"], _LENGTHS["trade"], _LENGTHS["order"]
    for event in events:
        kind = event[0]
        if kind == "balance" and len(event) == balance_length:
            add_balance(_balance_values(event) + suffix)
        elif kind == "order" and len(event) == order_length:
            state = event[_ORDER_STATE]
            if type(state) is not list or len(state) != _ORDER_STATE_LENGTH:
                raise BadEntry(f"an order event without a well-formed order: {event!r:.80}")
            # Later states of the same order overwrite earlier ones (events are in command order).
            orders[_ORDER_KEY(state)] = (*_order_state_values(state), event[_TS], event[_ORDER_SEQ], shard)
        elif kind == "trade" and len(event) == trade_length:
            add_trade(_trade_values(event) + suffix)
        elif kind not in _SKIPPED or type(event) is not list:
            raise BadEntry(f"unknown event type or wrong number of fields: {event!r:.80}")
    return trades, orders, balances


def _check_ints(rows: Iterable[tuple[Any, ...]], positions: itemgetter[Any], what: str) -> None:
    types = set(map(type, chain.from_iterable(map(positions, rows))))
    if types - {int}:
        names = ", ".join(sorted(t.__name__ for t in types - {int}))
        raise BadEntry(f"a {what} event has a non-integer amount, id or time ({names})")


# ---------------------------------------------------------------- the typed (msgspec) decoder

_FIELD_TYPES: dict[type, dict[str, Any]] = {
    Trade: {"market": str, "taker_side": str, "maker_user_id": str, "taker_user_id": str},
    BalanceChanged: {"user_id": str, "asset": str},
    OrderState: {"user_id": str, "market": str, "side": str, "order_type": str, "price": int | None,
                 "status": str, "time_in_force": str, "post_only": bool, "client_order_id": str | None,
                 "fills": msgspec.Raw},
}
# Fields of the stored classes not named above are integers; the skipped classes need only their time.
_INTEGERS = {"seq", "ts", "trade_id", "price", "quantity", "quote_quantity", "maker_order_id",
             "taker_order_id", "available", "locked", "delta_available", "delta_locked", "order_id",
             "executed_quantity", "executed_quote", "created_at"}


def _wire_struct(cls: type, tag: str | None, types: dict[str, Any]) -> Any:
    """A msgspec struct decoding ``cls``'s JSON array (after the tag): exact length, every field typed."""
    fields = []
    for name in cls.FIELDS:  # type: ignore[attr-defined]
        if name in types:
            fields.append((name, types[name]))
        elif name in _INTEGERS:
            fields.append((name, int))
        else:
            raise AssertionError(f"no wire type for {cls.__name__}.{name}")
    options: dict[str, Any] = {"array_like": True, "forbid_unknown_fields": True}
    if tag is not None:
        options["tag"] = tag
    return msgspec.defstruct(f"Wire{cls.__name__}", fields, **options)


def _skipped_struct(tag: str, cls: type) -> Any:
    """An event that is not stored: only its time (the newest time of the batch) is read."""
    fields = [(name, int if name == "ts" else msgspec.Raw) for name in cls.FIELDS]  # type: ignore[attr-defined]
    return msgspec.defstruct(f"Wire{cls.__name__}", fields, array_like=True, forbid_unknown_fields=True,
                             tag=tag)


_WireTrade = _wire_struct(Trade, "trade", _FIELD_TYPES[Trade])
_WireBalance = _wire_struct(BalanceChanged, "balance", _FIELD_TYPES[BalanceChanged])
_WireOrderState = _wire_struct(OrderState, None, _FIELD_TYPES[OrderState])
_WireOrder = _wire_struct(OrderUpdated, "order", {"order": _WireOrderState})
_WIRE_TYPES = {"trade": _WireTrade, "balance": _WireBalance, "order": _WireOrder}
_WIRE_EVENTS = [_WireTrade, _WireBalance, _WireOrder,
                *(_skipped_struct(tag, EVENT_TYPES[tag]) for tag in sorted(_SKIPPED))]
assert set(EVENT_TYPES) == {*_WIRE_TYPES, *_SKIPPED}
_DECODER = msgspec.json.Decoder(list[reduce(or_, _WIRE_EVENTS)])  # type: ignore[misc]

_typed_trade = attrgetter(*_TRADE_FIELDS)
_typed_balance = attrgetter(*_BALANCE_FIELDS)
_typed_order_state = attrgetter(*_ORDER_STATE_FIELDS)
_typed_ts = attrgetter("ts")


def _typed_rows(shard: str, events: list[Any]) -> EntryRows:
    """Rows from decoded structs: msgspec checked every type, so nothing is checked again here."""
    trades: list[Row] = []
    orders: dict[tuple[str, int], Row] = {}
    balances: list[Row] = []
    add_trade, add_balance = trades.append, balances.append
    suffix = (shard,)
    for event in events:
        kind = type(event)
        if kind is _WireBalance:
            add_balance(_typed_balance(event) + suffix)
        elif kind is _WireOrder:
            state = event.order
            # Later states of the same order overwrite earlier ones (events are in command order).
            orders[(state.market, state.order_id)] = (*_typed_order_state(state), event.ts, event.seq, shard)
        elif kind is _WireTrade:
            add_trade(_typed_trade(event) + suffix)
    return EntryRows(trades, orders, balances, len(events), max(map(_typed_ts, events), default=0), True)


def decode_entries(entries: Iterable[tuple[bytes, dict[bytes, bytes]]]
                   ) -> tuple[Batch, list[tuple[bytes, str]]]:
    """One batch from several entries, and the (entry id, reason) of each entry that is not usable."""
    batch = Batch()
    bad: list[tuple[bytes, str]] = []
    for entry_id, fields in entries:
        try:
            batch.add(decode_entry(fields))
        except BadEntry as exc:
            bad.append((entry_id, str(exc)))
    return batch, bad


def entry_time_ms(entry_id: bytes | str) -> int:
    """The time part of a stream entry id (``<ms>-<n>``): when the engine committed the batch."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(text.partition("-")[0])


_CANDLE_TRADE = itemgetter(*(TRADE_COLUMNS.index(name) for name in
                             ("market", "trade_id", "price", "quantity", "quote_quantity", "ts")))


def candles(trades: Iterable[Row], widths: Sequence[int]) -> list[Row]:
    """The candles of ``trades`` (rows in TRADE_COLUMNS order) for each width, in CANDLE_COLUMNS order.

    Exact integers; open/close are the prices of the first/last trade by id, whatever the order of the
    rows. The trades go into buckets of the finest width once, which are then merged into the coarser
    ones: every width must be a multiple of the finest (1 s, 1 min, 1 h, 1 day are), and buckets start at
    multiples of their width (epoch ms), so each fine bucket lies in exactly one coarse bucket.
    """
    finest = min(widths)
    assert all(width % finest == 0 for width in widths), widths
    # (market, open_time) -> [open, high, low, close, volume, quote volume, trades, first id, last id]
    buckets: dict[tuple[str, int], list[int]] = {}
    for market, trade_id, price, quantity, quote, ts in map(_CANDLE_TRADE, trades):
        key = (market, ts - ts % finest)
        c = buckets.get(key)
        if c is None:
            buckets[key] = [price, price, price, price, quantity, quote, 1, trade_id, trade_id]
            continue
        if trade_id < c[7]:
            c[0], c[7] = price, trade_id
        if trade_id > c[8]:
            c[3], c[8] = price, trade_id
        if price > c[1]:
            c[1] = price
        elif price < c[2]:
            c[2] = price
        c[4] += quantity
        c[5] += quote
        c[6] += 1
    result: list[Row] = []
    for width in widths:
        merged = buckets if width == finest else _merge(buckets, width)
        result.extend((width, market, open_time, *c) for (market, open_time), c in sorted(merged.items()))
    return result


def _merge(buckets: dict[tuple[str, int], list[int]], width: int) -> dict[tuple[str, int], list[int]]:
    merged: dict[tuple[str, int], list[int]] = {}
    for (market, open_time), c in buckets.items():
        key = (market, open_time - open_time % width)
        m = merged.get(key)
        if m is None:
            merged[key] = list(c)
            continue
        if c[7] < m[7]:
            m[0], m[7] = c[0], c[7]
        if c[8] > m[8]:
            m[3], m[8] = c[3], c[8]
        m[1] = max(m[1], c[1])
        m[2] = min(m[2], c[2])
        m[4] += c[4]
        m[5] += c[5]
        m[6] += c[6]
    return merged
