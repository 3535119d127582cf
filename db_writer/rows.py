"""The pure core of the writer: entries of the ``{ns}:events`` stream -> COPY data for each table.

An entry is one committed engine batch: ``s`` = the shard id, ``e`` = ``encode_events(...)`` (a JSON
array of ``[type, field, ...]`` in each event class's ``FIELDS`` order, nested records as arrays;
docs/internals.md). Each table's COPY column list follows its event class's ``FIELDS`` by name (then the
shard), so a reordered event class changes the columns with it instead of silently swapping them.

Only trades, order updates and balance changes are stored; depth updates and rejections are not.
Every integer column must hold a JSON integer (never a float, a bool or null): the COPY would otherwise
round a float into a NUMERIC column without a word. An entry that is not a well-formed batch raises
:class:`BadEntry`; the writer sets it aside instead of blocking on it.

Two entry formats: rows grouped per table (``t``, ``o``, ``b``: what the engine writes,
``shared.events.encode_stored_rows``) and, until 2026-11-26, one array of events (``e``). Two decoders, one
result (copycsv.py says why CSV and how):

- *typed* (every entry the engine writes): msgspec decodes each group straight into typed structs (built
  from the columns: integers must be JSON integers, texts strings, exact lengths), checking every type
  while it parses, in C, and one ``bytes.replace`` turns the engine's own JSON of the group into CSV rows
  (copycsv.from_rows_json): no Python work per value at all. An entry of events is decoded into one
  struct per event class, and each table's structs are encoded back to JSON by msgspec (C) before the
  same kind of replace (copycsv.from_json).
- *original*: an entry msgspec refuses is decoded by ``orjson`` + :func:`events_to_rows` (grouped rows
  turned back into the events they came from), which either accepts it (it is more lenient in places,
  e.g. an extra field of a skipped event) or says exactly what is wrong; its rows are tuples, encoded value
  by value (copycsv.encode). All give the same bytes for the same events
  (tests/unit/db_writer/test_rows.py, test_copycsv.py).
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import reduce
from itertools import chain
from operator import attrgetter, itemgetter, or_
from typing import Any, Final, Literal, TypeVar

import msgspec
import orjson

from db_writer import copycsv
from shared.events import EVENT_TYPES, BalanceChanged, OrderState, OrderUpdated, Trade
from shared.types import OrderStatus, OrderType, Side, TimeInForce

# The COPY column list of each table: its event's fields (the order: its command's seq and time, then the
# order's fields without its fills), then the entry's shard.
TRADE_COLUMNS: tuple[str, ...] = (*Trade.FIELDS, "shard")
BALANCE_COLUMNS: tuple[str, ...] = (*BalanceChanged.FIELDS, "shard")
ORDER_COLUMNS: tuple[str, ...] = ("seq", "updated_at", *OrderState.FIELDS[:-1], "shard")
assert OrderState.FIELDS[-1] == "fills" and OrderUpdated.FIELDS == ("seq", "ts", "order")
# Candles aggregated from a batch's trades (:func:`candles`), one row per (width, market, bucket).
CANDLE_COLUMNS: tuple[str, ...] = (
    "width", "market", "open_time", "open", "high", "low", "close", "volume", "quote_volume", "trades",
    "first_trade_id", "last_trade_id",
)

_TEXT_COLUMNS = {
    "trades": ("market", "taker_side", "maker_user_id", "taker_user_id"),
    "orders": ("user_id", "market", "side", "order_type", "status", "time_in_force"),
    "balances": ("user_id", "asset"),
}
_INT_COLUMNS = {
    "trades": ("seq", "ts", "trade_id", "price", "quantity", "quote_quantity", "maker_order_id",
               "taker_order_id"),
    "orders": ("seq", "updated_at", "order_id", "quantity", "executed_quantity", "executed_quote",
               "created_at"),
    "balances": ("seq", "ts", "available", "locked", "delta_available", "delta_locked"),
}
_COLUMNS = {"trades": TRADE_COLUMNS, "orders": ORDER_COLUMNS, "balances": BALANCE_COLUMNS}


def _positions(table: str, names: tuple[str, ...]) -> itemgetter[Any]:
    return itemgetter(*(_COLUMNS[table].index(name) for name in names))


_TRADE_INTS, _ORDER_INTS, _BALANCE_INTS = (_positions(t, _INT_COLUMNS[t]) for t in _COLUMNS)
_TEXT_TYPES: dict[str, list[copycsv.Typed]] = {
    table: [(tuple(_COLUMNS[table].index(name) for name in names), str)]
    for table, names in _TEXT_COLUMNS.items()}
_TEXT_TYPES["orders"].append(((ORDER_COLUMNS.index("post_only"),), bool))
_TEXT_TYPES["orders"].append(((ORDER_COLUMNS.index("client_order_id"),), (str, type(None))))
_ORDER_ID = ORDER_COLUMNS.index("order_id")
_ORDER_PRICE = ORDER_COLUMNS.index("price")
_ORDER_MARKET = ORDER_COLUMNS.index("market")
_ORDER_USER = ORDER_COLUMNS.index("user_id")
_LENGTHS = {"trade": 1 + len(Trade.FIELDS), "order": 1 + len(OrderUpdated.FIELDS),
            "balance": 1 + len(BalanceChanged.FIELDS)}
_ORDER_STATE_LENGTH = len(OrderState.FIELDS)
_SKIPPED = frozenset({"depth", "rejected"})
# Every event class starts with (seq, ts): in an encoded event, the seq is at index 1 and the time at 2.
_SEQ, _TS = 1, 2
assert all(cls.FIELDS[:2] == ("seq", "ts") for cls in EVENT_TYPES.values())

Row = tuple[Any, ...]
T = TypeVar("T")
OrderKey = tuple[str, int]  # (market, order id)
# An order's state: (shard, seq, typed struct or ORDER_COLUMNS row (None when the CSV row is kept), its
# CSV row without the shard or None, its user (Batch.order_copies groups placed orders by it), placed: a
# command of the entry or batch placed the order, i.e. its order id is that command's seq).
# The CSV is the engine's own JSON of the row between its brackets (copycsv.from_rows_json says why that
# is CSV), so the states a batch keeps need no encoding again.
OrderEntry = tuple[str, int, Any, bytes | None, str, bool]
_PIECE: Final = 3
_USER: Final = 4
_PLACED: Final = 5


class BadEntry(ValueError):
    """A stream entry that is not a well-formed engine batch (the message says what is wrong)."""


@dataclass(slots=True)
class EntryRows:
    """What one entry stores: COPY data (CSV, copycsv.py) of its trades and balance changes, its orders'
    last states (each with its CSV row when the entry came grouped, joined by :meth:`Batch.order_copy`
    once the batch knows every entry's), the trades' candle fields and users (``user_fills``:
    :func:`fill_lists`), and the seqs of its balance changes (``written_seqs`` in store.py)."""

    shard: str
    trade_copy: bytes
    balance_copy: bytes
    trades: int  # how many
    balances: int
    candle_trades: list[Row]  # (market, trade_id, price, quantity, quote_quantity, ts) of each trade
    makers: list[str]  # the maker of each trade (as candle_trades)
    takers: list[str]
    orders: dict[OrderKey, OrderEntry]
    events: int
    newest_ts: int
    balance_seqs: tuple[int, int] | None  # lowest and highest seq of its balance changes
    typed: bool = False  # from the typed decoder
    raw_orders: bool = False  # every order state has its CSV row

    @property
    def placed(self) -> set[OrderKey]:
        """The orders placed by a command of this entry."""
        return {key for key, state in self.orders.items() if state[_PLACED]}


@dataclass(slots=True)
class Batch:
    """The rows of several stream entries, ready for one transaction.

    ``orders`` keeps one state per (market, order id): the one with the highest (shard, seq), and within
    one command the last one (a COPY cannot store a key twice), marked placed when any command of the
    batch placed the order.

    Placed orders are COPYed grouped by user (:func:`_by_user`): the orders of one user then go into the
    same leaf page of orders_user_created one after the other, which saves PostgreSQL 0.3-1.3 us per
    trade (bench/db_copy_order_bench.py), more than it costs the writer (~0.3 us per trade;
    docs/db-writer.md). Rows without their CSV piece (earlier entry format, texts with escapes) keep
    their order. Trades keep the engine's order (their key's order: no random insert into trades_pkey).
    """

    trade_copy: list[bytes] = field(default_factory=list)
    balance_copy: list[bytes] = field(default_factory=list)
    trades: int = 0
    balances: int = 0
    candle_trades: list[Row] = field(default_factory=list)
    makers: list[str] = field(default_factory=list)
    takers: list[str] = field(default_factory=list)
    orders: dict[OrderKey, OrderEntry] = field(default_factory=dict)
    balance_seqs: list[tuple[str, int, int]] = field(default_factory=list)  # (shard, lowest, highest)
    entries: int = 0
    events: int = 0
    newest_ts: int = 0  # the latest event time in the batch (ms), 0 when it had no event
    typed: bool = True  # every entry came through the typed decoder
    raw_orders: bool = True  # every order state has its CSV row
    shards: set[str] = field(default_factory=set)  # of the entries with orders

    def add(self, rows: EntryRows) -> None:
        self.typed = self.typed and rows.typed
        if rows.trades:
            self.trade_copy.append(rows.trade_copy)
            self.trades += rows.trades
            self.candle_trades.extend(rows.candle_trades)
            self.makers.extend(rows.makers)
            self.takers.extend(rows.takers)
        if rows.balances:
            self.balance_copy.append(rows.balance_copy)
            self.balances += rows.balances
        if rows.balance_seqs is not None:
            self.balance_seqs.append((rows.shard, *rows.balance_seqs))
        orders = self.orders
        both = orders.keys() & rows.orders.keys()
        if both:  # orders the batch already holds: the newer state, placed if either was
            merged = {key: _newer(orders[key], rows.orders[key]) for key in both}
            orders.update(rows.orders)
            orders.update(merged)
        else:  # taken whole, in C
            orders.update(rows.orders)
        if rows.orders:
            self.shards.add(rows.shard)
            self.raw_orders = self.raw_orders and rows.raw_orders
        self.entries += 1
        self.events += rows.events
        self.newest_ts = max(self.newest_ts, rows.newest_ts)

    def has_rows(self) -> bool:
        return bool(self.trades or self.balances or self.orders)

    @property
    def placed(self) -> set[OrderKey]:
        """The orders placed by a command of the batch."""
        return {key for key, state in self.orders.items() if state[_PLACED]}

    def split_orders(self) -> tuple[set[OrderKey], set[OrderKey]]:
        """The keys of the orders placed by a command of the batch, and of the others."""
        placed = self.placed
        return placed, self.orders.keys() - placed

    def trades_copy(self) -> bytes:
        """COPY data of the batch's trades, in the order of the entries."""
        return b"".join(self.trade_copy)

    def fills_copy(self) -> bytes:
        """COPY data of ``user_fills`` (FILL_COLUMNS) for the batch's trades: :func:`fill_lists`."""
        return fill_lists(self.candle_trades, self.makers, self.takers)

    def order_copies(self) -> tuple[bytes, bytes]:
        """COPY data of the orders placed by a command of the batch (grouped by user when the batch's
        states all have their CSV rows and one shard), and of the others' states."""
        if self.raw_orders and len(self.shards) == 1:  # the usual case: one pass over the CSV rows
            users: list[str] = []
            placed: list[bytes] = []
            updated: list[bytes] = []
            for state in self.orders.values():
                if state[_PLACED]:
                    users.append(state[_USER])
                    placed.append(state[_PIECE])  # type: ignore[arg-type]
                else:
                    updated.append(state[_PIECE])  # type: ignore[arg-type]
            shard = next(iter(self.shards))
            return _joined(_by_user(users, placed), shard), _joined(updated, shard)
        placed_keys, updated_keys = self.split_orders()
        return (self.order_copy(placed_keys) if placed_keys else b"",
                self.order_copy(updated_keys) if updated_keys else b"")

    def order_copy(self, keys: Iterable[OrderKey]) -> bytes:
        """COPY data of the stored states of these orders (ORDER_COLUMNS)."""
        orders = self.orders
        pieces: dict[str, list[bytes]] = {}
        typed: dict[str, list[Any]] = {}
        rows: list[Row] = []
        for key in keys:
            shard, _, state, piece, _, _ = orders[key]
            if piece is not None:
                pieces.setdefault(shard, []).append(piece)
            elif type(state) is tuple:
                rows.append(state)
            else:
                typed.setdefault(shard, []).append(state)
        parts = [_joined(shard_pieces, shard) for shard, shard_pieces in pieces.items()]
        parts.extend(_typed_order_copy(states, shard) for shard, states in typed.items())
        if rows:
            parts.append(copycsv.encode(rows))
        return b"".join(parts)


def _joined(pieces: list[bytes], shard: str) -> bytes:
    """CSV rows from pieces (copycsv.rows_json_pieces) of one shard, the shard appended to each."""
    return copycsv.join_pieces(pieces, _ENCODER.encode(shard))


def _by_user(users: list[str], pieces: list[bytes]) -> list[bytes]:
    """``pieces`` grouped by their user (``users``: the user of each), users in the order they first come,
    each user's pieces in their order.

    Grouped, not sorted: PostgreSQL saves as much either way (the same leaf page for one user's rows, one
    after the other), and grouping takes the writer ~0.08 us per row (C-level loops only), sorting the
    positions ~0.26 (10,000 rows, 2026-11-26)."""
    return list(chain.from_iterable(_grouped(users, pieces).values()))


def _grouped(keys: Iterable[str], values: Iterable[T]) -> dict[str, list[T]]:
    """``values`` grouped by their key (``keys``: the key of each, in step), keys in the order they first
    come, each key's values in their order; in C-level loops (no Python code per value)."""
    groups: defaultdict[str, list[T]] = defaultdict(list)
    deque(map(list.append, map(groups.__getitem__, keys), values), maxlen=0)
    return groups


def decode_entry(fields: dict[bytes, bytes]) -> EntryRows:
    """The rows of one stream entry; BadEntry if it is not a well-formed batch of events.

    Two formats: rows grouped per table (``t``, ``o``, ``b``: what the engine writes,
    ``shared.events.encode_stored_rows``) and, from before 2026-11-26, one array of events (``e``).
    """
    shard = fields.get(b"s")
    payload = fields.get(b"e")
    groups = (fields.get(b"t"), fields.get(b"o"), fields.get(b"b"))
    if shard is None or (payload is None and None in groups):
        raise BadEntry("the entry has no 's' (shard), or neither 'e' (events) nor 't', 'o' and 'b' (rows)")
    try:
        shard_id = shard.decode()
    except UnicodeDecodeError as exc:
        raise BadEntry(f"undecodable entry: {exc}") from None
    if payload is None:
        return _decode_groups(shard_id, groups)  # type: ignore[arg-type]
    try:
        typed = _DECODER.decode(payload)
    except msgspec.DecodeError:  # also ValidationError: the original path says what is wrong, or accepts it
        return _decode_slowly(shard_id, payload)
    return _typed_rows(shard_id, typed)


def _decode_groups(shard: str, groups: tuple[bytes, bytes, bytes]) -> EntryRows:
    """Rows grouped per table: each decoded by msgspec (every type checked), the COPY data made from the
    engine's own JSON (copycsv.from_rows_json). An entry msgspec refuses is turned back into events for
    the original decoder, which accepts it or says what is wrong."""
    try:
        trades: list[Any] = _TRADE_ROWS.decode(groups[0])
        orders: list[Any] = _ORDER_ROWS.decode(groups[1])
        balances: list[Any] = _BALANCE_ROWS.decode(groups[2])
    except msgspec.DecodeError:
        return events_to_rows(shard, _groups_as_events(groups))
    shard_json = _ENCODER.encode(shard)
    by_key: dict[OrderKey, OrderEntry] = {}
    pieces = None if b"\\" in shard_json else copycsv.rows_json_pieces(groups[1], len(orders))
    # Later states of an order overwrite earlier ones (rows are in command order). A state with its CSV
    # row does not keep its struct: the entry's structs are freed as soon as it is decoded, so the
    # allocator reuses their memory for the next entry instead of asking the system for more.
    for row, piece in zip(orders, [None] * len(orders) if pieces is None else pieces, strict=True):
        key = (row.market, row.order_id)
        placed = row.seq == row.order_id or (key in by_key and by_key[key][_PLACED])
        by_key[key] = (shard, row.seq, row if piece is None else None, piece, row.user_id, placed)
    newest = max(max(map(_typed_ts, trades), default=0), max(map(_typed_ts, balances), default=0),
                 max(map(_typed_updated_at, orders), default=0))
    return EntryRows(
        shard=shard,
        trade_copy=_rows_copy(trades, groups[0], shard, shard_json, _typed_trade),
        balance_copy=_rows_copy(balances, groups[2], shard, shard_json, _typed_balance),
        trades=len(trades), balances=len(balances), candle_trades=list(map(_typed_candle, trades)),
        makers=list(map(_typed_maker, trades)), takers=list(map(_typed_taker, trades)),
        orders=by_key, events=len(trades) + len(orders) + len(balances), newest_ts=newest,
        balance_seqs=_seq_range(map(_typed_seq, balances)),
        typed=True, raw_orders=pieces is not None)


def _newer(current: OrderEntry, state: OrderEntry) -> OrderEntry:
    """The newer of two states of one order, by (shard, seq) as order_states compares them (on a tie, the
    same command, the later: ``state``), placed if either was."""
    newer = state if state[:2] >= current[:2] else current
    if newer[_PLACED] or not (current[_PLACED] or state[_PLACED]):
        return newer
    return (*newer[:_PLACED], True)  # type: ignore[return-value]


def _groups_as_events(groups: tuple[bytes, bytes, bytes]) -> list[Any]:
    """Grouped rows as the events they came from (for the original decoder's checks and verdicts)."""
    decoded = []
    for group in groups:
        try:
            rows = orjson.loads(group)
        except orjson.JSONDecodeError as exc:
            raise BadEntry(f"undecodable entry: {exc}") from None
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise BadEntry("'t', 'o' and 'b' must be JSON arrays of arrays")
        decoded.append(rows)
    trades, orders, balances = decoded
    return [*(["trade", *row] for row in trades),
            *(["order", *row[:2], [*row[2:], []]] for row in orders),
            *(["balance", *row] for row in balances)]


def _rows_copy(rows: list[Any], data: bytes, shard: str, shard_json: bytes, row: attrgetter[Any]) -> bytes:
    """COPY data of decoded rows: their JSON made CSV, or (a text needing an escape) row by row."""
    if not rows:
        return b""
    copy = copycsv.from_rows_json(data, shard_json, len(rows))
    if copy is None:
        suffix = (shard,)
        copy = copycsv.encode([row(struct) + suffix for struct in rows])
    return copy


def _decode_slowly(shard_id: str, payload: bytes) -> EntryRows:
    try:
        events = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise BadEntry(f"undecodable entry: {exc}") from None
    if not isinstance(events, list):
        raise BadEntry("'e' is not a JSON array")
    return events_to_rows(shard_id, events)


def events_to_rows(shard: str, events: list[Any]) -> EntryRows:
    """Map decoded events (``[type, field, ...]`` arrays) of one shard to table rows (the original path)."""
    try:
        trades, orders, placed, balances = _map_events(shard, events)
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
    try:
        for table, rows in (("trades", trades), ("orders", orders.values()), ("balances", balances)):
            copycsv.check_types(list(rows), _TEXT_TYPES[table])
    except copycsv.NotText as exc:
        raise BadEntry(f"a text or boolean column holds something else: {exc}") from None
    return EntryRows(
        shard=shard, trade_copy=copycsv.encode(trades), balance_copy=copycsv.encode(balances),
        trades=len(trades), balances=len(balances), candle_trades=list(map(_candle_row, trades)),
        makers=list(map(_maker_column, trades)), takers=list(map(_taker_column, trades)),
        orders={key: (shard, row[0], row, None, row[_ORDER_USER], key in placed)
                for key, row in orders.items()},
        events=len(events), newest_ts=newest, balance_seqs=_seq_range(row[0] for row in balances))


_event_ts = itemgetter(_TS)
_candle_row = itemgetter(*(TRADE_COLUMNS.index(name) for name in
                           ("market", "trade_id", "price", "quantity", "quote_quantity", "ts")))
_maker_column = itemgetter(TRADE_COLUMNS.index("maker_user_id"))
_taker_column = itemgetter(TRADE_COLUMNS.index("taker_user_id"))


def _seq_range(seqs: Iterable[int]) -> tuple[int, int] | None:
    values = list(seqs)
    return (min(values), max(values)) if values else None


def _map_events(shard: str, events: list[Any]
                ) -> tuple[list[Row], dict[OrderKey, Row], set[OrderKey], list[Row]]:
    """The rows of each table (shard appended) and the orders placed by these events' commands; no
    checks beyond shape: the caller checks types."""
    trades: list[Row] = []
    orders: dict[OrderKey, Row] = {}
    placed: set[OrderKey] = set()
    balances: list[Row] = []
    suffix = (shard,)
    balance_length, trade_length, order_length = _LENGTHS["balance"], _LENGTHS["trade"], _LENGTHS["order"]
    for event in events:
        kind = event[0]
        if kind == "balance" and len(event) == balance_length:
            balances.append(tuple(event[1:]) + suffix)
        elif kind == "order" and len(event) == order_length:
            state = event[3]
            if type(state) is not list or len(state) != _ORDER_STATE_LENGTH:
                raise BadEntry(f"an order event without a well-formed order: {event!r:.80}")
            row = (event[_SEQ], event[_TS], *state[:-1], shard)
            # Later states of the same order overwrite earlier ones (events are in command order).
            key = (row[_ORDER_MARKET], row[_ORDER_ID])
            orders[key] = row
            if row[0] == row[_ORDER_ID]:
                placed.add(key)
        elif kind == "trade" and len(event) == trade_length:
            trades.append(tuple(event[1:]) + suffix)
        elif kind not in _SKIPPED or type(event) is not list:
            raise BadEntry(f"unknown event type or wrong number of fields: {event!r:.80}")
    return trades, orders, placed, balances


def _check_ints(rows: Iterable[Row], positions: itemgetter[Any], what: str) -> None:
    types = set(map(type, chain.from_iterable(map(positions, rows))))
    if types - {int}:
        names = ", ".join(sorted(t.__name__ for t in types - {int}))
        raise BadEntry(f"a {what} event has a non-integer amount, id or time ({names})")


# ---------------------------------------------------------------- the typed (msgspec) decoder

def _one_of(values: type[StrEnum]) -> Any:
    """A text column holding one of an enum's values: msgspec returns the one shared string of each
    value instead of a new string per row (fewer allocations), and refuses any other text (the original
    decoder then takes the entry, and PostgreSQL's CHECK refuses the value, as before)."""
    return Literal[tuple(member.value for member in values)]  # type: ignore[valid-type]


_FIELD_TYPES: dict[type, dict[str, Any]] = {
    Trade: {"market": str, "taker_side": _one_of(Side), "maker_user_id": str, "taker_user_id": str},
    BalanceChanged: {"user_id": str, "asset": str},
    OrderState: {"user_id": str, "market": str, "side": _one_of(Side), "order_type": _one_of(OrderType),
                 "price": int | None, "status": _one_of(OrderStatus), "time_in_force": _one_of(TimeInForce),
                 "post_only": bool, "client_order_id": str | None, "fills": msgspec.Raw},
}
# Fields of the stored classes not named above are integers; the skipped classes need only their time.
_INTEGERS = {"seq", "ts", "trade_id", "price", "quantity", "quote_quantity", "maker_order_id",
             "taker_order_id", "available", "locked", "delta_available", "delta_locked", "order_id",
             "executed_quantity", "executed_quote", "created_at"}


def _wire_struct(cls: type, tag: str | None, types: dict[str, Any]) -> Any:
    """A msgspec struct decoding ``cls``'s JSON array (after the tag): exact length, every field typed.

    Not tracked by the garbage collector (``gc=False``: it holds no reference cycle), so that decoding
    thousands of them does not set off collections.
    """
    fields = []
    for name in cls.FIELDS:  # type: ignore[attr-defined]
        if name in types:
            fields.append((name, types[name]))
        elif name in _INTEGERS:
            fields.append((name, int))
        else:
            raise AssertionError(f"no wire type for {cls.__name__}.{name}")
    options: dict[str, Any] = {"array_like": True, "forbid_unknown_fields": True, "gc": False}
    if tag is not None:
        options["tag"] = tag
    return msgspec.defstruct(f"Wire{cls.__name__}", fields, **options)


def _skipped_struct(tag: str, cls: type) -> Any:
    """An event that is not stored: only its time (the newest time of the batch) is read."""
    fields = [(name, int if name == "ts" else msgspec.Raw) for name in cls.FIELDS]  # type: ignore[attr-defined]
    return msgspec.defstruct(f"Wire{cls.__name__}", fields, array_like=True, forbid_unknown_fields=True,
                             tag=tag, gc=False)


def _row_struct(name: str, columns: Sequence[str], types: dict[str, Any]) -> Any:
    """A msgspec struct decoding one flat row of ``encode_stored_rows``: exact length, every field typed."""
    fields = [(column, types.get(column, int)) for column in columns]
    assert all(column in types or column in _INTEGERS or column == "updated_at" for column in columns)
    return msgspec.defstruct(name, fields, array_like=True, forbid_unknown_fields=True, gc=False)


_TradeRow = _row_struct("TradeRow", TRADE_COLUMNS[:-1], _FIELD_TYPES[Trade])
_BalanceRow = _row_struct("BalanceRow", BALANCE_COLUMNS[:-1], _FIELD_TYPES[BalanceChanged])
_OrderRow = _row_struct("OrderRow", ORDER_COLUMNS[:-1], _FIELD_TYPES[OrderState])
_TRADE_ROWS = msgspec.json.Decoder(list[_TradeRow])  # type: ignore[valid-type]
_ORDER_ROWS = msgspec.json.Decoder(list[_OrderRow])  # type: ignore[valid-type]
_BALANCE_ROWS = msgspec.json.Decoder(list[_BalanceRow])  # type: ignore[valid-type]

_WireTrade = _wire_struct(Trade, "trade", _FIELD_TYPES[Trade])
_WireBalance = _wire_struct(BalanceChanged, "balance", _FIELD_TYPES[BalanceChanged])
_WireOrderState = _wire_struct(OrderState, None, _FIELD_TYPES[OrderState])
_WireOrder = _wire_struct(OrderUpdated, "order", {"order": _WireOrderState})
_WIRE_TYPES = {"trade": _WireTrade, "balance": _WireBalance, "order": _WireOrder}
_WIRE_EVENTS = [_WireTrade, _WireBalance, _WireOrder,
                *(_skipped_struct(tag, EVENT_TYPES[tag]) for tag in sorted(_SKIPPED))]
assert set(EVENT_TYPES) == {*_WIRE_TYPES, *_SKIPPED}
_DECODER = msgspec.json.Decoder(list[reduce(or_, _WIRE_EVENTS)])  # type: ignore[misc]
_ENCODER = msgspec.json.Encoder()
# An order's fills are not stored (they are the trades naming it): every decoded state's fills are
# replaced by this, which copycsv.from_json drops with the row's closing brackets.
_NO_FILLS = msgspec.Raw(b"null")

_typed_trade = attrgetter(*Trade.FIELDS)
_typed_balance = attrgetter(*BalanceChanged.FIELDS)
_typed_order_state = attrgetter(*OrderState.FIELDS[:-1])
_typed_ts = attrgetter("ts")
_typed_updated_at = attrgetter("updated_at")
_typed_order_row = attrgetter(*ORDER_COLUMNS[:-1])
_typed_seq = attrgetter("seq")
_typed_maker = attrgetter("maker_user_id")
_typed_taker = attrgetter("taker_user_id")
_typed_candle = attrgetter("market", "trade_id", "price", "quantity", "quote_quantity", "ts")


def _typed_copy(structs: list[Any], tag: str, shard: str, row: attrgetter[Any]) -> bytes:
    """COPY data of same-type structs: msgspec's JSON made CSV, or (a text needing an escape) row by row."""
    if not structs:
        return b""
    data = copycsv.from_json(_ENCODER.encode(structs), tag, _ENCODER.encode(shard), len(structs))
    if data is None:
        suffix = (shard,)
        data = copycsv.encode([row(struct) + suffix for struct in structs])
    return data


def _typed_order_copy(states: list[Any], shard: str) -> bytes:
    """COPY data of typed order states of one shard: flat rows (grouped entries) and/or order events."""
    rows = [state for state in states if type(state) is _OrderRow]
    events = [state for state in states if type(state) is _WireOrder] if len(rows) < len(states) else []
    shard_json = _ENCODER.encode(shard)
    parts = []
    if rows:
        parts.append(_rows_copy(rows, _ENCODER.encode(rows), shard, shard_json, _typed_order_row))
    if events:
        data = copycsv.from_json(_ENCODER.encode(events), "order", shard_json, len(events), nested=True)
        if data is None:
            data = copycsv.encode([(e.seq, e.ts, *_typed_order_state(e.order), shard) for e in events])
        parts.append(data)
    return b"".join(parts)


def _typed_rows(shard: str, events: list[Any]) -> EntryRows:
    """Rows from decoded structs: msgspec checked every type, so nothing is checked again here."""
    trades = [event for event in events if type(event) is _WireTrade]
    balances = [event for event in events if type(event) is _WireBalance]
    orders: dict[OrderKey, OrderEntry] = {}
    for event in events:
        if type(event) is _WireOrder:
            state = event.order
            state.fills = _NO_FILLS
            key = (state.market, state.order_id)
            # Later states of the same order overwrite earlier ones (events are in command order).
            placed = event.seq == state.order_id or (key in orders and orders[key][_PLACED])
            orders[key] = (shard, event.seq, event, None, state.user_id, placed)
    return EntryRows(
        shard=shard, trade_copy=_typed_copy(trades, "trade", shard, _typed_trade),
        balance_copy=_typed_copy(balances, "balance", shard, _typed_balance),
        trades=len(trades), balances=len(balances), candle_trades=list(map(_typed_candle, trades)),
        makers=list(map(_typed_maker, trades)), takers=list(map(_typed_taker, trades)),
        orders=orders, events=len(events), newest_ts=max(map(_typed_ts, events), default=0),
        balance_seqs=_seq_range(map(_typed_seq, balances)),
        typed=True)


def decode_entries(entries: Iterable[tuple[bytes, dict[bytes, bytes]]]
                   ) -> tuple[Batch, list[tuple[bytes, str]]]:
    """One batch from several entries, and the (entry id, reason) of each entry that is not usable."""
    batch = Batch()
    bad: list[tuple[bytes, str]] = []
    for entry_id, fields in entries:
        add_entry(batch, bad, entry_id, fields)
    return batch, bad


def add_entry(batch: Batch, bad: list[tuple[bytes, str]], entry_id: bytes,
              fields: dict[bytes, bytes]) -> None:
    """Decode one entry into ``batch``, or add (its id, the reason) to ``bad``."""
    try:
        batch.add(decode_entry(fields))
    except BadEntry as exc:
        bad.append((entry_id, str(exc)))


def entry_time_ms(entry_id: bytes | str) -> int:
    """The time part of a stream entry id (``<ms>-<n>``): when the engine committed the batch."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(text.partition("-")[0])


def candles(trades: Iterable[Row], widths: Sequence[int]) -> list[Row]:
    """The candles of ``trades`` ((market, trade_id, price, quantity, quote_quantity, ts) each) for each
    width, in CANDLE_COLUMNS order.

    Exact integers; open/close are the prices of the first/last trade by id, whatever the order of the
    rows. The trades go into buckets of the finest width once, which are then merged into the coarser
    ones: every width must be a multiple of the finest (1 s, 1 min, 1 h, 1 day are), and buckets start at
    multiples of their width (epoch ms), so each fine bucket lies in exactly one coarse bucket.
    """
    finest = min(widths)
    assert all(width % finest == 0 for width in widths), widths
    # (market, open_time) -> [open, high, low, close, volume, quote volume, trades, first id, last id]
    buckets: dict[tuple[str, int], list[int]] = {}
    for market, trade_id, price, quantity, quote, ts in trades:
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


# ---------------------------------------------------------------- user_fills (migration 0006)

FILL_COLUMNS: tuple[str, ...] = ("user_id", "first_ts", "last_ts", "markets", "trade_ids", "ts")
FILL_SPAN_MS: Final = 60_000  # a row's trades lie in one bucket of this width (the table's CHECK)
_fill_ref = itemgetter(0, 1, 5)  # (market, trade_id, ts) of a candle_trades row
_PLAIN_ELEMENT = re.compile(r"[A-Za-z0-9_.:+/-]+")


def fill_lists(trades: Sequence[Row], makers: Sequence[str], takers: Sequence[str]) -> bytes:
    """COPY data of ``user_fills`` (FILL_COLUMNS) for trades stored together: one row per user and
    minute, listing each trade once for its maker and once for its taker.

    ``trades`` are candle_trades rows ((market, trade_id, price, quantity, quote_quantity, ts)),
    ``makers``/``takers`` their users. Each trade's texts are made once for both of its users; the
    positions of each user's trades are grouped by :func:`_grouped` (~1.2 us per
    trade in all, 2026-11-26). A user's trades that span two minutes (a batch across a minute's edge)
    make two rows.
    """
    if not trades:
        return b""
    markets, ids, times = zip(*map(_fill_ref, trades), strict=True)
    elements = {market: _array_element(market) for market in set(markets)}
    texts = _FillTexts(list(map(elements.__getitem__, markets)), list(map(str, ids)), list(map(str, times)))
    positions = range(len(trades))
    lines: list[str] = []
    for user, mine in _grouped(chain(makers, takers), chain(positions, positions)).items():
        pick = _picker(mine)
        numbers = pick(times)
        first, last = min(numbers), max(numbers)
        if first - first % FILL_SPAN_MS == last - last % FILL_SPAN_MS:
            lines.append(texts.line(user, pick, first, last))
            continue
        minutes: defaultdict[int, list[int]] = defaultdict(list)
        for position, ts in zip(mine, numbers, strict=True):
            minutes[ts - ts % FILL_SPAN_MS].append(position)
        for part in minutes.values():
            pick = _picker(part)
            numbers = pick(times)
            lines.append(texts.line(user, pick, min(numbers), max(numbers)))
    return "".join(lines).encode()


Picker = Callable[[Sequence[Any]], tuple[Any, ...]]


def _picker(positions: list[int]) -> Picker:
    """A function giving the values at ``positions`` of a sequence as a tuple (itemgetter: C, and
    str.join takes a tuple as it is)."""
    if len(positions) > 1:
        return itemgetter(*positions)
    position = positions[0]
    return lambda values: (values[position],)


@dataclass(frozen=True, slots=True)
class _FillTexts:
    """Each trade's market (as an array element), id and time as texts, by position."""

    markets: list[str]
    ids: list[str]
    times: list[str]

    def line(self, user: str, pick: Picker, first: int, last: int) -> str:
        """The CSV row of the trades ``pick`` picks, for ``user``: each array a quoted CSV field holding
        PostgreSQL's array literal."""
        markets = ",".join(pick(self.markets)).replace('"', '""')
        ids = ",".join(pick(self.ids))
        times = ",".join(pick(self.times))
        user = user.replace('"', '""')
        return f'"{user}",{first},{last},"{{{markets}}}","{{{ids}}}","{{{times}}}"\n'


def _array_element(text: str) -> str:
    """``text`` as an element of a PostgreSQL array literal: bare when it is plainly a word (market
    symbols are), else double-quoted with backslash escapes (a bare NULL would be a null element)."""
    if _PLAIN_ELEMENT.fullmatch(text) and text.upper() != "NULL":
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
