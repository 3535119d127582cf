"""Commands refuse wrong field types when built (both builds), so ill-typed input never reaches the engine."""

from decimal import Decimal

import pytest

from shared.commands import CancelAll, CancelOrder, Deposit, PlaceOrder
from shared.types import OrderType, Side, TimeInForce

T0 = 1_700_000_000_000
GOOD = {
    "user_id": "bob", "market": "TATA-INR", "side": Side.BUY, "order_type": OrderType.LIMIT,
    "price": 10_000, "quantity": 1, "time_in_force": TimeInForce.GTC, "post_only": False,
    "client_order_id": None, "ts": T0,
}


@pytest.mark.parametrize("field, value", [
    ("user_id", None), ("user_id", 7),
    ("market", None), ("market", 7),
    ("side", "buy"), ("side", None), ("side", OrderType.LIMIT),
    ("order_type", "limit"), ("order_type", None),
    ("time_in_force", "GTC"), ("time_in_force", None),
    ("price", 10_000.0), ("price", Decimal(10_000)), ("price", "10000"), ("price", True),
    ("quantity", None), ("quantity", 1.0), ("quantity", Decimal(1)), ("quantity", "1"), ("quantity", True),
    ("post_only", 1), ("post_only", None), ("post_only", "false"),
    ("client_order_id", 17), ("client_order_id", b"abc"),
    ("ts", None), ("ts", 1.5e12), ("ts", "1700000000000"), ("ts", True),
])
def test_place_order_with_wrong_field_type_raises_type_error(field, value):
    with pytest.raises(TypeError, match=field):
        PlaceOrder(**{**GOOD, field: value})


def test_place_order_with_good_types_keeps_the_values():
    command = PlaceOrder(**GOOD)
    assert command.astuple() == tuple(GOOD.values())
    assert PlaceOrder(**{**GOOD, "price": None, "client_order_id": "id-1"}).client_order_id == "id-1"


@pytest.mark.parametrize("amount", [True, 1.0, Decimal(5), "100", None])
def test_deposit_with_non_integer_amount_raises_type_error(amount):
    with pytest.raises(TypeError, match="amount"):
        Deposit("alice", "INR", amount, T0)


@pytest.mark.parametrize("user, asset, ts", [(None, "INR", T0), (7, "INR", T0), ("a", None, T0),
                                             ("a", "INR", "now"), ("a", "INR", False)])
def test_deposit_with_wrong_types_raises_type_error(user, asset, ts):
    with pytest.raises(TypeError):
        Deposit(user, asset, 100, ts)


@pytest.mark.parametrize("order_id", ["12", 12.0, None, True])
def test_cancel_with_non_integer_order_id_raises_type_error(order_id):
    with pytest.raises(TypeError, match="order_id"):
        CancelOrder("bob", order_id, T0)


@pytest.mark.parametrize("market, ts", [(7, T0), ("TATA-INR", None), (None, 1.0)])
def test_cancel_all_with_wrong_types_raises_type_error(market, ts):
    with pytest.raises(TypeError):
        CancelAll("bob", market, ts)


def test_commands_are_immutable():
    command = CancelOrder("bob", 5, T0)
    with pytest.raises(AttributeError):
        command.order_id = 6  # type: ignore[misc]


def test_replace_builds_a_changed_copy_and_checks_it():
    command = Deposit("alice", "INR", 100, T0)
    assert command.replace(amount=5) == Deposit("alice", "INR", 5, T0)
    assert command.amount == 100
    with pytest.raises(TypeError):
        command.replace(amount="5")
