"""Journal: commands <-> JSON entries, batches, refusal of every malformed entry, deterministic replay."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from engine.core import Engine
from engine.journal import JournalError, decode_batch, decode_command, encode_batch, encode_command
from engine.snapshot import state_hash
from shared.commands import CancelAll, CancelOrder, Command, Deposit, PlaceOrder
from shared.errors import ErrorCode
from shared.events import Event, Rejected, encode_events
from shared.types import OrderType, Side, TimeInForce
from tests.support.factories import (
    T0,
    cancel,
    cancel_all,
    deposit,
    limit,
    market_order,
    markets,
)

# ---------------------------------------------------------------------------------------------- helpers


def place_cmd(**changes: Any) -> PlaceOrder:
    base = PlaceOrder("alice", "TATA-INR", Side.BUY, OrderType.LIMIT, 10_150, 10, TimeInForce.GTC, False,
                      "my-id-1", T0)
    return base.replace(**changes) if changes else base


GOOD_PLACE = ["place", "alice", "TATA-INR", "buy", "limit", 10_150, 10, "GTC", False, "my-id-1", T0]
GOOD_CANCEL = ["cancel", "alice", 42, T0]
GOOD_CANCEL_ALL = ["cancel_all", "alice", "TATA-INR", T0]
GOOD_DEPOSIT = ["deposit", "alice", "INR", 100_000, T0]


def with_field(entry: list[Any], index: int, value: Any) -> list[Any]:
    copy = list(entry)
    copy[index] = value
    return copy


def roundtrip(command: Command) -> Command:
    """encode -> JSON bytes -> decode, as the journal stores it."""
    return decode_command(orjson.loads(orjson.dumps(encode_command(command))))


# ---------------------------------------------------------------------------------------------- encode


def test_encode_place_limit_lists_fields_with_enum_values():
    assert encode_command(place_cmd()) == GOOD_PLACE


def test_encode_place_market_with_none_price_and_none_client_id_keeps_nulls():
    command = PlaceOrder("bob", "INFY-INR", Side.SELL, OrderType.MARKET, None, 3, TimeInForce.IOC, False,
                         None, T0 + 5)
    assert encode_command(command) == ["place", "bob", "INFY-INR", "sell", "market", None, 3, "IOC", False,
                                       None, T0 + 5]


def test_encode_cancel_lists_user_order_id_ts():
    assert encode_command(CancelOrder("alice", 42, T0)) == GOOD_CANCEL


def test_encode_cancel_all_with_market_and_with_none():
    assert encode_command(CancelAll("alice", "TATA-INR", T0)) == GOOD_CANCEL_ALL
    assert encode_command(CancelAll("alice", None, T0 + 1)) == ["cancel_all", "alice", None, T0 + 1]


def test_encode_deposit_lists_user_asset_amount_ts():
    assert encode_command(Deposit("alice", "INR", 100_000, T0)) == GOOD_DEPOSIT


def test_encode_enum_fields_serialise_as_their_values():
    entry = encode_command(place_cmd(side=Side.SELL, order_type=OrderType.LIMIT,
                                     time_in_force=TimeInForce.FOK))
    assert [entry[i] for i in (3, 4, 7)] == ["sell", "limit", "FOK"]
    assert orjson.dumps(entry) == (b'["place","alice","TATA-INR","sell","limit",10150,10,"FOK",false,'
                                   b'"my-id-1",1700000000000]')


def test_decode_of_encoded_command_without_json_step_is_identical():
    for command in (place_cmd(), place_cmd(order_type=OrderType.MARKET, price=None),
                    CancelOrder("a", 1, 2), CancelAll("a", None, 2), Deposit("a", "INR", 3, 4)):
        assert decode_command(encode_command(command)) == command


NOT_COMMANDS = [object(), None, "place", ["place"],
                Rejected(1, T0, "a", ErrorCode.INVALID_REQUEST, "m", None)]


@pytest.mark.parametrize("thing", NOT_COMMANDS)
def test_encode_not_a_command_raises_journal_error(thing):
    with pytest.raises(JournalError):
        encode_command(thing)


# ---------------------------------------------------------------------------------------------- roundtrip

ROUNDTRIP_COMMANDS = [
    pytest.param(place_cmd(), id="place-limit-buy-gtc-client-id"),
    pytest.param(place_cmd(side=Side.SELL, time_in_force=TimeInForce.IOC, client_order_id=None),
                 id="place-limit-sell-ioc-no-client-id"),
    pytest.param(place_cmd(time_in_force=TimeInForce.FOK), id="place-limit-fok"),
    pytest.param(place_cmd(post_only=True, client_order_id="A_b-9" * 7 + "x"),
                 id="place-post-only-36-char-id"),
    pytest.param(place_cmd(order_type=OrderType.MARKET, price=None), id="place-market-buy-none-price"),
    pytest.param(place_cmd(side=Side.SELL, order_type=OrderType.MARKET, price=None, client_order_id=None,
                           market="RELIANCE-INR"), id="place-market-sell-none-price-none-id"),
    pytest.param(place_cmd(price=0, quantity=-1, market="NOPE-XYZ", user_id=""),
                 id="place-values-the-engine-would-reject"),
    # The widest integers JSON (orjson) carries: unsigned and signed 64-bit.
    pytest.param(place_cmd(price=2**64 - 1, quantity=-(2**63), ts=2**63 - 1), id="place-64-bit-ints"),
    pytest.param(CancelOrder("bob", 7, T0 + 3), id="cancel"),
    pytest.param(CancelOrder("bob", 0, 0), id="cancel-zero"),
    pytest.param(CancelAll("bob", "INFY-INR", T0 + 4), id="cancel-all-market"),
    pytest.param(CancelAll("bob", None, T0 + 4), id="cancel-all-none-market"),
    pytest.param(Deposit("carol", "TATA", 25, T0 + 6), id="deposit"),
    pytest.param(Deposit("carol", "XYZ", -5, T0 + 6), id="deposit-values-the-engine-would-reject"),
    pytest.param(Deposit("üser-ünïcode", "INR", 1, T0), id="deposit-unicode-user"),
]


@pytest.mark.parametrize("command", ROUNDTRIP_COMMANDS)
def test_decode_of_encoded_command_roundtrip_is_identical(command):
    decoded = roundtrip(command)
    assert type(decoded) is type(command)
    assert decoded == command
    assert encode_command(decoded) == encode_command(command)


@pytest.mark.parametrize("side", list(Side))
@pytest.mark.parametrize("order_type", list(OrderType))
@pytest.mark.parametrize("tif", list(TimeInForce))
@pytest.mark.parametrize("post_only", [False, True])
def test_decode_place_every_enum_combination_roundtrip_gives_enum_members(side, order_type, tif, post_only):
    price = None if order_type is OrderType.MARKET else 10_000
    command = place_cmd(side=side, order_type=order_type, price=price, time_in_force=tif, post_only=post_only)
    decoded = roundtrip(command)
    assert decoded == command
    assert isinstance(decoded, PlaceOrder)
    assert decoded.side is side
    assert decoded.order_type is order_type
    assert decoded.time_in_force is tif
    assert decoded.post_only is post_only
    assert decoded.price == price


def test_decode_place_none_fields_stay_none():
    decoded = decode_command(["place", "u", "TATA-INR", "sell", "market", None, 1, "GTC", False, None, 5])
    assert isinstance(decoded, PlaceOrder)
    assert decoded.price is None
    assert decoded.client_order_id is None
    decoded_all = decode_command(["cancel_all", "u", None, 5])
    assert isinstance(decoded_all, CancelAll)
    assert decoded_all.market is None


# ---------------------------------------------------------------------------------------------- batches


def test_encode_batch_is_json_list_of_entries_in_order():
    commands: list[Command] = [Deposit("alice", "INR", 100_000, T0), place_cmd(),
                               CancelOrder("alice", 42, T0), CancelAll("alice", "TATA-INR", T0)]
    raw = encode_batch(commands)
    assert isinstance(raw, bytes)
    assert orjson.loads(raw) == [GOOD_DEPOSIT, GOOD_PLACE, GOOD_CANCEL, GOOD_CANCEL_ALL]


def test_decode_batch_roundtrip_keeps_every_command_and_order():
    commands: list[Command] = [p.values[0] for p in ROUNDTRIP_COMMANDS]
    decoded = decode_batch(encode_batch(commands))
    assert decoded == commands
    assert [type(c) for c in decoded] == [type(c) for c in commands]


def test_decode_batch_empty_list_gives_no_commands():
    assert encode_batch([]) == b"[]"
    assert decode_batch(b"[]") == []


def test_decode_batch_str_of_same_json_gives_same_commands():
    raw = encode_batch([place_cmd()])
    assert decode_batch(raw.decode()) == [place_cmd()]


# ---------------------------------------------------------------------------------------------- malformed

MALFORMED_ENTRIES = [
    # not a list / not an entry
    pytest.param(None, id="null"),
    pytest.param(5, id="int"),
    pytest.param(1.5, id="float"),
    pytest.param(True, id="bool"),
    pytest.param("place", id="string"),
    pytest.param("", id="empty-string"),
    pytest.param({}, id="empty-object"),
    pytest.param({"kind": "place"}, id="object"),
    pytest.param({"place": 1}, id="object-with-kind-key"),
    pytest.param([], id="empty-list"),
    # unknown kind
    pytest.param(["order", "alice", 1, T0], id="unknown-kind"),
    pytest.param(["PLACE", *GOOD_PLACE[1:]], id="kind-wrong-case"),
    pytest.param([None, "alice", 1, T0], id="kind-null"),
    pytest.param([1, "alice", 1, T0], id="kind-int"),
    pytest.param([["place"], "alice", 1, T0], id="kind-list"),
    pytest.param([{"k": "place"}, "alice", 1, T0], id="kind-object"),
    # wrong arity
    pytest.param(["place"], id="place-no-fields"),
    pytest.param(GOOD_PLACE[:-1], id="place-one-short"),
    pytest.param([*GOOD_PLACE, 1], id="place-one-extra"),
    pytest.param(["cancel"], id="cancel-no-fields"),
    pytest.param(GOOD_CANCEL[:-1], id="cancel-one-short"),
    pytest.param([*GOOD_CANCEL, 1], id="cancel-one-extra"),
    pytest.param(["cancel_all"], id="cancel-all-no-fields"),
    pytest.param(GOOD_CANCEL_ALL[:-1], id="cancel-all-one-short"),
    pytest.param([*GOOD_CANCEL_ALL, None], id="cancel-all-one-extra"),
    pytest.param(["deposit"], id="deposit-no-fields"),
    pytest.param(GOOD_DEPOSIT[:-1], id="deposit-one-short"),
    pytest.param([*GOOD_DEPOSIT, 1], id="deposit-one-extra"),
    # place: wrong types
    pytest.param(with_field(GOOD_PLACE, 1, 7), id="place-user-int"),
    pytest.param(with_field(GOOD_PLACE, 1, None), id="place-user-null"),
    pytest.param(with_field(GOOD_PLACE, 2, None), id="place-market-null"),
    pytest.param(with_field(GOOD_PLACE, 2, ["TATA-INR"]), id="place-market-list"),
    pytest.param(with_field(GOOD_PLACE, 5, "101.50"), id="place-price-string"),
    pytest.param(with_field(GOOD_PLACE, 5, 101.5), id="place-price-float"),
    pytest.param(with_field(GOOD_PLACE, 5, 10150.0), id="place-price-whole-float"),
    pytest.param(with_field(GOOD_PLACE, 5, True), id="place-price-bool"),
    pytest.param(with_field(GOOD_PLACE, 6, None), id="place-quantity-null"),
    pytest.param(with_field(GOOD_PLACE, 6, "10"), id="place-quantity-string"),
    pytest.param(with_field(GOOD_PLACE, 6, False), id="place-quantity-bool"),
    pytest.param(with_field(GOOD_PLACE, 8, 0), id="place-post-only-int"),
    pytest.param(with_field(GOOD_PLACE, 8, None), id="place-post-only-null"),
    pytest.param(with_field(GOOD_PLACE, 8, "false"), id="place-post-only-string"),
    pytest.param(with_field(GOOD_PLACE, 9, 17), id="place-client-id-int"),
    pytest.param(with_field(GOOD_PLACE, 9, False), id="place-client-id-bool"),
    pytest.param(with_field(GOOD_PLACE, 10, None), id="place-ts-null"),
    pytest.param(with_field(GOOD_PLACE, 10, 1.7e12), id="place-ts-float"),
    pytest.param(with_field(GOOD_PLACE, 10, str(T0)), id="place-ts-string"),
    # place: bad enum values
    pytest.param(with_field(GOOD_PLACE, 3, "BUY"), id="place-side-upper"),
    pytest.param(with_field(GOOD_PLACE, 3, "long"), id="place-side-unknown"),
    pytest.param(with_field(GOOD_PLACE, 3, None), id="place-side-null"),
    pytest.param(with_field(GOOD_PLACE, 3, 1), id="place-side-int"),
    pytest.param(with_field(GOOD_PLACE, 3, ["buy"]), id="place-side-list"),
    pytest.param(with_field(GOOD_PLACE, 4, "stop"), id="place-type-unknown"),
    pytest.param(with_field(GOOD_PLACE, 4, "LIMIT"), id="place-type-upper"),
    pytest.param(with_field(GOOD_PLACE, 4, None), id="place-type-null"),
    pytest.param(with_field(GOOD_PLACE, 7, "gtc"), id="place-tif-lower"),
    pytest.param(with_field(GOOD_PLACE, 7, "GTD"), id="place-tif-unknown"),
    pytest.param(with_field(GOOD_PLACE, 7, None), id="place-tif-null"),
    pytest.param(with_field(GOOD_PLACE, 7, {"tif": "GTC"}), id="place-tif-object"),
    # cancel: wrong types
    pytest.param(with_field(GOOD_CANCEL, 1, None), id="cancel-user-null"),
    pytest.param(with_field(GOOD_CANCEL, 2, "42"), id="cancel-order-id-string"),
    pytest.param(with_field(GOOD_CANCEL, 2, "TATA-INR-42"), id="cancel-order-id-public"),
    pytest.param(with_field(GOOD_CANCEL, 2, 42.0), id="cancel-order-id-float"),
    pytest.param(with_field(GOOD_CANCEL, 2, True), id="cancel-order-id-bool"),
    pytest.param(with_field(GOOD_CANCEL, 2, None), id="cancel-order-id-null"),
    pytest.param(with_field(GOOD_CANCEL, 3, None), id="cancel-ts-null"),
    # cancel_all: wrong types
    pytest.param(with_field(GOOD_CANCEL_ALL, 1, 1), id="cancel-all-user-int"),
    pytest.param(with_field(GOOD_CANCEL_ALL, 2, 5), id="cancel-all-market-int"),
    pytest.param(with_field(GOOD_CANCEL_ALL, 2, False), id="cancel-all-market-bool"),
    pytest.param(with_field(GOOD_CANCEL_ALL, 3, "now"), id="cancel-all-ts-string"),
    # deposit: wrong types
    pytest.param(with_field(GOOD_DEPOSIT, 1, None), id="deposit-user-null"),
    pytest.param(with_field(GOOD_DEPOSIT, 2, None), id="deposit-asset-null"),
    pytest.param(with_field(GOOD_DEPOSIT, 3, "100000"), id="deposit-amount-string"),
    pytest.param(with_field(GOOD_DEPOSIT, 3, 1000.0), id="deposit-amount-float"),
    pytest.param(with_field(GOOD_DEPOSIT, 3, True), id="deposit-amount-bool"),
    pytest.param(with_field(GOOD_DEPOSIT, 4, None), id="deposit-ts-null"),
    pytest.param(with_field(GOOD_DEPOSIT, 4, [T0]), id="deposit-ts-list"),
]


@pytest.mark.parametrize("entry", MALFORMED_ENTRIES)
def test_decode_command_malformed_entry_raises_journal_error(entry):
    with pytest.raises(JournalError):
        decode_command(entry)


@pytest.mark.parametrize("entry", MALFORMED_ENTRIES)
def test_decode_batch_with_malformed_entry_raises_journal_error(entry):
    raw = orjson.dumps([GOOD_DEPOSIT, entry])
    with pytest.raises(JournalError):
        decode_batch(raw)


@pytest.mark.parametrize("raw", [
    pytest.param(b"", id="empty"),
    pytest.param(b"   ", id="blank"),
    pytest.param(b"not json", id="text"),
    pytest.param(b"[", id="truncated"),
    pytest.param(b'[["cancel","a",1,2]', id="truncated-entry"),
    pytest.param(b"[1,]", id="trailing-comma"),
    pytest.param(b"NaN", id="nan"),
    pytest.param(b"[NaN]", id="nan-in-list"),
    pytest.param(b"\xff\xfe", id="not-utf8"),
    pytest.param(b"[\"\xff\"]", id="not-utf8-string"),
])
def test_decode_batch_not_json_raises_journal_error(raw):
    with pytest.raises(JournalError):
        decode_batch(raw)


@pytest.mark.parametrize("raw", [
    pytest.param(b"{}", id="object"),
    pytest.param(b'{"b": []}', id="object-with-list"),
    pytest.param(b'"[]"', id="string"),
    pytest.param(b"1", id="int"),
    pytest.param(b"null", id="null"),
    pytest.param(b"true", id="bool"),
])
def test_decode_batch_not_a_list_raises_journal_error(raw):
    with pytest.raises(JournalError):
        decode_batch(raw)


def test_decode_batch_integer_beyond_64_bits_raises_journal_error():
    raw = b'[["cancel","alice",18446744073709551616,1]]'
    with pytest.raises(JournalError):
        decode_batch(raw)


def test_journal_error_is_a_value_error():
    assert issubclass(JournalError, ValueError)


# ---------------------------------------------------------------------------------------------- replay


def replay_batches() -> list[list[Command]]:
    """Several batches touching every command kind and outcome, including rejections and no-ops."""
    ts = T0
    return [
        [deposit("alice", "INR", 5_000_000, ts), deposit("alice", "TATA", 300, ts),
         deposit("bob", "INR", 5_000_000, ts), deposit("bob", "TATA", 300, ts),
         deposit("carol", "INR", 600_000, ts), deposit("carol", "INFY", 50, ts)],
        [limit("alice", "sell", 10_100, 10, client_order_id="a-1", ts=ts + 10),
         limit("alice", "sell", 10_000, 5, ts=ts + 10),
         limit("bob", "buy", 9_900, 7, client_order_id="b-1", ts=ts + 10),
         limit("bob", "buy", 10_050, 8, ts=ts + 10)],  # fills 5 @ 100.00, rests 3
        [limit("carol", "buy", 10_100, 4, tif=TimeInForce.IOC, ts=ts + 20),
         limit("carol", "buy", 10_100, 50, tif=TimeInForce.FOK, ts=ts + 20),  # UNFILLABLE
         limit("carol", "sell", 9_000, 1, market="INFY-INR", post_only=True, ts=ts + 20),
         market_order("carol", "buy", 3, market="INFY-INR", ts=ts + 20)],  # self-trade
        [limit("bob", "sell", 10_050, 2, ts=ts + 30),  # self-trade with own bid
         cancel("bob", 10, ts=ts + 30),
         cancel("alice", 10, ts=ts + 30),  # ORDER_NOT_FOUND
         cancel("bob", 10, ts=ts + 30),  # ORDER_NOT_OPEN
         limit("bob", "buy", 9_000, 1, client_order_id="b-1", ts=ts + 30),  # DUPLICATE
         limit("bob", "buy", 0, 1, ts=ts + 30),  # INVALID_PRICE
         limit("bob", "buy", 9_000, 1, market="NOPE-INR", ts=ts + 30),  # UNKNOWN_MARKET
         deposit("bob", "XYZ", 5, ts=ts + 30)],  # INVALID_REQUEST
        [market_order("alice", "sell", 4, ts=ts + 40),
         limit("bob", "buy", 10_200, 20, ts=ts + 40),
         cancel_all("alice", "TATA-INR", ts=ts + 40),
         cancel_all("dave", None, ts=ts + 40),  # no open orders: no events
         deposit("dave", "RELIANCE", 10, ts=ts + 40),
         limit("dave", "sell", 250_000, 10, market="RELIANCE-INR", ts=ts + 40),
         market_order("bob", "buy", 2, market="RELIANCE-INR", ts=ts + 40),
         cancel_all("bob", None, ts=ts + 50)],
    ]


def run(engine: Engine, batch: list[Command]) -> list[Event]:
    events: list[Event] = []
    for command in batch:
        events.extend(engine.apply(command))
    return events


def test_replay_of_decoded_batches_gives_identical_events_and_state():
    batches = replay_batches()
    original = Engine(markets())
    journal = []
    original_events = []
    for batch in batches:
        original_events.append(encode_events(run(original, batch)))
        journal.append(encode_batch(batch))
    # The script must exercise fills and rejections, or this test proves little.
    everything = b"".join(original_events)
    assert b'"trade"' in everything
    assert b'"rejected"' in everything
    for code in (b"UNFILLABLE", b"ORDER_NOT_FOUND", b"ORDER_NOT_OPEN", b"DUPLICATE_CLIENT_ORDER_ID",
                 b"INVALID_PRICE", b"UNKNOWN_MARKET", b"INVALID_REQUEST"):
        assert code in everything, code

    replica = Engine(markets())
    for raw, expected in zip(journal, original_events, strict=True):
        assert encode_events(run(replica, decode_batch(raw))) == expected
    assert replica.seq == original.seq == sum(len(b) for b in batches)
    assert replica.next_trade_id == original.next_trade_id
    assert state_hash(replica) == state_hash(original)


def test_replay_of_journal_then_new_command_continues_identically():
    batches = replay_batches()
    original = Engine(markets())
    replica = Engine(markets())
    for batch in batches:
        run(original, batch)
        run(replica, decode_batch(encode_batch(batch)))
    follow_up = limit("carol", "buy", 10_100, 2, ts=T0 + 60)
    assert encode_events(run(replica, [follow_up])) == encode_events(run(original, [follow_up]))
    assert state_hash(replica) == state_hash(original)
