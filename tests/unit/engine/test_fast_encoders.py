"""The engine service's text-built encoders are byte for byte the reference encodings they replace.

``trade_json`` = orjson of ``trade_view``; ``encode_stored_events`` = orjson of ``_plain(e, False)``
rows; ``encode_command_rows`` = orjson of the journal rows; ``pack_command`` = RESP as redis-py writes it;
``Request`` (a Message, no longer a frozen dataclass) keeps its fields, equality and read-only attributes.
"""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis._parsers.encoders import Encoder
from redis.connection import PythonRespSerializer

from shared.commands import command_row, encode_command_rows
from shared.events import BalanceChanged, Fill, OrderState, OrderUpdated, Trade, _plain, encode_stored_events
from shared.events import stored_events as keep_stored
from shared.markets import load_markets
from shared.types import OrderStatus, OrderType, Side, TimeInForce
from shared.views import trade_json, trade_view
from shared.wire import Request, decode_request, encode_request, pack_command
from tests.support.factories import new_engine
from tests.support.strategies import Scenario, scenarios

MARKETS = load_markets().markets
TEXT = st.text(max_size=30)  # free text: quotes, backslashes, control and non-ASCII characters
BIG = st.integers(0, 2**63 - 1)


def reference_stored(events: list) -> bytes:
    return orjson.dumps([_plain(e, False) for e in events])


@given(scenarios(max_size=40))
def test_every_event_stream_the_engine_emits_encodes_as_the_reference(scenario: Scenario) -> None:
    engine = new_engine(scenario.retention_ms)
    for command in scenario.commands:
        events = engine.apply(command)
        kept = keep_stored(events)
        assert encode_stored_events(kept) == reference_stored(kept)
        for event in events:
            if isinstance(event, Trade):
                market = MARKETS[event.market]
                assert trade_json(event, market) == orjson.dumps(trade_view(event, market))
    assert encode_command_rows(list(scenario.commands)) == orjson.dumps(
        [command_row(c) for c in scenario.commands])


@given(user=TEXT, other=TEXT, client_order_id=st.one_of(st.none(), TEXT),
       price=st.one_of(st.none(), BIG), numbers=st.lists(BIG, min_size=8, max_size=8),
       post_only=st.booleans(), status=st.sampled_from(list(OrderStatus)),
       side=st.sampled_from(list(Side)), tif=st.sampled_from(list(TimeInForce)),
       market=st.sampled_from(sorted(MARKETS)))
def test_free_text_and_extremes_encode_as_the_reference(user: str, other: str, client_order_id: str | None,
                                                         price: int | None, numbers: list[int],
                                                         post_only: bool, status: OrderStatus, side: Side,
                                                         tif: TimeInForce, market: str) -> None:
    a, b, c, d, e, f, g, h = numbers
    order = OrderState(a, user, market, side, OrderType.MARKET if price is None else OrderType.LIMIT, price,
                       b, c, d, status, tif, post_only, client_order_id, e, (Fill(1, 2, 3, 4),))
    trade = Trade(a, b, market, c, d, e, f, side, g, h, user, other)
    events = [OrderUpdated(a, b, order), trade, BalanceChanged(a, b, user, other, c, d, -e, -f),
              BalanceChanged(h, g, other, "INR", 0, 0, 0, 0)]
    assert encode_stored_events(events) == reference_stored(events)
    assert encode_stored_events([]) == b"[]"
    assert trade_json(trade, MARKETS[market]) == orjson.dumps(trade_view(trade, MARKETS[market]))


@given(st.lists(st.one_of(st.binary(max_size=40), TEXT, st.integers(-(2**70), 2**70)), max_size=20))
def test_pack_command_is_what_redis_py_sends(args: list[bytes | str | int]) -> None:
    serializer = PythonRespSerializer(10**6, Encoder("utf-8", "strict", False).encode)
    command: list[bytes | str | int] = ["EVAL", *args]
    assert pack_command(command) == b"".join(serializer.pack(*command))
    assert pack_command([]) == b"*0\r\n"


def test_request_fields_equality_and_read_only_attributes() -> None:
    raw = encode_request("api-1:7", "mudra:reply:api-1", "place", user="u", quantity=3)
    request = decode_request(raw)
    assert (request.id, request.reply, request.op, request.fields) == (
        "api-1:7", "mudra:reply:api-1", "place", {"user": "u", "quantity": 3})
    assert request == Request("api-1:7", "mudra:reply:api-1", "place", {"user": "u", "quantity": 3})
    assert request != Request("api-1:8", "mudra:reply:api-1", "place", {"user": "u", "quantity": 3})
    with pytest.raises(AttributeError):
        request.op = "cancel"  # type: ignore[misc]
