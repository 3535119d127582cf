"""The directly built order JSON is byte for byte the encoded dict view (the reference shape)."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from shared.events import Fill, OrderState, OrderUpdated
from shared.markets import load_markets
from shared.types import OrderStatus, OrderType, Side, TimeInForce
from shared.views import order_json, order_view, orders_json
from tests.support.factories import new_engine
from tests.support.strategies import Scenario, scenarios

MARKETS = load_markets().markets


@given(scenarios(max_size=40))
def test_every_order_the_engine_emits_renders_as_its_view(scenario: Scenario) -> None:
    engine = new_engine(scenario.retention_ms)
    for command in scenario.commands:
        for event in engine.apply(command):
            if isinstance(event, OrderUpdated):
                order = event.order
                assert order_json(order, MARKETS[order.market]) == \
                    orjson.dumps(order_view(order, MARKETS[order.market]))


@given(client_order_id=st.one_of(st.none(), st.text(max_size=40)),
       price=st.one_of(st.none(), st.integers(1, 10**11)),
       fills=st.lists(st.tuples(st.integers(1, 10**12), st.integers(1, 10**11), st.integers(1, 10**9)),
                      max_size=4), post_only=st.booleans(), status=st.sampled_from(list(OrderStatus)),
       market=st.sampled_from(sorted(MARKETS)))
def test_free_text_and_extremes_render_as_the_view(client_order_id: str | None, price: int | None,
                                                     fills: list[tuple[int, int, int]], post_only: bool,
                                                     status: OrderStatus, market: str) -> None:
    order = OrderState(7, "u", market, Side.SELL, OrderType.MARKET if price is None else OrderType.LIMIT,
                       price, 10**9, 3, 10**15, status, TimeInForce.IOC, post_only, client_order_id,
                       1_700_000_000_123, tuple(Fill(t, p, q, 5) for t, p, q in fills))
    assert order_json(order, MARKETS[market]) == orjson.dumps(order_view(order, MARKETS[market]))
    assert orjson.loads(orders_json([order, order], MARKETS)) == [order_view(order, MARKETS[market])] * 2
    assert orders_json([], MARKETS) == b"[]"
