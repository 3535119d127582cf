"""Builders for commands and engines used across the tests."""

from __future__ import annotations

from typing import Any, TypeVar

from engine.core import Engine
from engine.invariants import check_invariants
from engine.snapshot import dump
from shared.commands import CancelAll, CancelOrder, Command, Deposit, PlaceOrder
from shared.errors import ErrorCode
from shared.events import Event, OrderState, OrderUpdated, Rejected
from shared.markets import MarketsConfig, load_markets
from shared.types import OrderType, Side, TimeInForce

EventT = TypeVar("EventT")

MARKET = "TATA-INR"
T0 = 1_700_000_000_000


def markets() -> MarketsConfig:
    return load_markets()


def new_engine(retention_ms: int | None = None) -> Engine:
    if retention_ms is None:
        return Engine(markets())
    return Engine(markets(), closed_order_retention_ms=retention_ms)


def deposit(user: str, asset: str, amount: int, ts: int = T0) -> Deposit:
    return Deposit(user, asset, amount, ts)


def limit(user: str, side: Side | str, price: int, quantity: int, *, market: str = MARKET,
          tif: TimeInForce = TimeInForce.GTC, post_only: bool = False, client_order_id: str | None = None,
          ts: int = T0) -> PlaceOrder:
    return PlaceOrder(user, market, Side(side), OrderType.LIMIT, price, quantity, tif, post_only,
                      client_order_id, ts)


def market_order(user: str, side: Side | str, quantity: int, *, market: str = MARKET,
                 client_order_id: str | None = None, ts: int = T0) -> PlaceOrder:
    return PlaceOrder(user, market, Side(side), OrderType.MARKET, None, quantity, TimeInForce.GTC, False,
                      client_order_id, ts)


def cancel(user: str, order_id: int, ts: int = T0) -> CancelOrder:
    return CancelOrder(user, order_id, ts)


def cancel_all(user: str, market: str | None = None, ts: int = T0) -> CancelAll:
    return CancelAll(user, market, ts)


# ---------------------------------------------------------------------------------------------- helpers
# Applying commands with the checks every test wants: no unexpected rejection, invariants after each
# command, and for rejections "exactly one Rejected, state unchanged".

INR, TATA = "INR", "TATA"
ALL_ASSETS = ("INR", "TATA", "RELIANCE", "INFY")


def apply_ok(engine: Engine, command: Command) -> list[Event]:
    """Apply a command that must be accepted; check the engine's invariants afterwards."""
    events = engine.apply(command)
    rejected = [e for e in events if isinstance(e, Rejected)]
    assert not rejected, f"unexpected rejection: {rejected}"
    for event in events:
        assert event.seq == engine.seq, event
        assert event.ts == command.ts, event
    check_invariants(engine)
    return events


def apply_all(engine: Engine, *commands: Command) -> list[Event]:
    events: list[Event] = []
    for command in commands:
        events.extend(apply_ok(engine, command))
    return events


def place(engine: Engine, command: PlaceOrder) -> tuple[int, list[Event]]:
    """Apply an accepted order; return (its order id, the events)."""
    events = apply_ok(engine, command)
    return engine.seq, events


def fund(engine: Engine, user: str, *, inr: int = 0, tata: int = 0, ts: int = T0) -> None:
    """Deposit INR (paise) and/or TATA (shares)."""
    if inr:
        apply_ok(engine, deposit(user, INR, inr, ts))
    if tata:
        apply_ok(engine, deposit(user, TATA, tata, ts))


def frozen_state(engine: Engine) -> tuple[bytes, dict[Any, Any]]:
    """Everything about the engine except ``seq`` (which every command, even a rejected one, advances):
    the full snapshot taken with ``seq`` set aside, plus the clientOrderId index."""
    seq, engine.seq = engine.seq, 0
    try:
        snapshot = dump(engine)
    finally:
        engine.seq = seq
    return snapshot, dict(getattr(engine, "client_ids", {}))


def apply_rejected(engine: Engine, command: Command, code: ErrorCode) -> Rejected:
    """Apply a command that must be rejected with ``code``; assert it changed nothing but ``seq``."""
    seq = engine.seq
    before = frozen_state(engine)
    events = engine.apply(command)
    assert len(events) == 1 and isinstance(events[0], Rejected), events
    rejected = events[0]
    assert rejected.code is code, rejected
    assert engine.seq == seq + 1
    assert rejected.seq == engine.seq
    assert frozen_state(engine) == before
    check_invariants(engine)
    return rejected


def of_type(events: list[Event], kind: type[EventT]) -> list[EventT]:
    return [e for e in events if isinstance(e, kind)]


def order_update(events: list[Event], order_id: int) -> OrderState:
    """The last state of ``order_id`` among the events."""
    states = [e.order for e in events if isinstance(e, OrderUpdated) and e.order.order_id == order_id]
    assert states, f"no OrderUpdated for order {order_id} in {events}"
    return states[-1]


def balance(engine: Engine, user: str, asset: str) -> tuple[int, int]:
    """(available, locked)."""
    return engine.balances(user)[asset]


RICH = 10_000_000  # paise: 100,000.00 INR


def funded(*users: str) -> Engine:
    """A fresh engine where each user has RICH paise and 1,000 TATA."""
    engine = new_engine()
    for user in users:
        fund(engine, user, inr=RICH, tata=1_000)
    return engine
