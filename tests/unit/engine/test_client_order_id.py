"""clientOrderId: format, uniqueness per user over open and retained closed orders, retention."""

from shared.errors import ErrorCode
from shared.types import OrderStatus, TimeInForce
from tests.support.factories import (
    T0,
    apply_ok,
    apply_rejected,
    cancel,
    deposit,
    fund,
    limit,
    market_order,
    new_engine,
    place,
)

RICH = 10_000_000
RETENTION = 1_000


def funded(retention_ms=None, users=("alice", "bob")):
    engine = new_engine(retention_ms)
    for user in users:
        fund(engine, user, inr=RICH, tata=1_000)
    return engine


def test_client_order_id_is_kept_on_the_order():
    engine = funded()
    oid, _ = place(engine, limit("bob", "buy", 10_000, 1, client_order_id="my-id-1"))
    assert engine.get_order("bob", oid).client_order_id == "my-id-1"


def test_order_without_client_order_id_has_none():
    engine = funded()
    oid, _ = place(engine, limit("bob", "buy", 10_000, 1))
    assert engine.get_order("bob", oid).client_order_id is None


def test_orders_without_client_order_id_never_conflict():
    engine = funded()
    place(engine, limit("bob", "buy", 10_000, 1))
    place(engine, limit("bob", "buy", 10_000, 1))
    assert len(engine.open_orders("bob")) == 2


def test_duplicate_client_order_id_of_open_order_rejected_with_first_order_id():
    engine = funded()
    first, _ = place(engine, limit("bob", "buy", 10_000, 1, client_order_id="abc"))
    rejected = apply_rejected(engine, limit("bob", "buy", 9_000, 2, client_order_id="abc"),
                              ErrorCode.DUPLICATE_CLIENT_ORDER_ID)
    assert rejected.order_id == first
    assert rejected.user_id == "bob"


def test_duplicate_client_order_id_in_other_market_and_side_rejected():
    engine = funded()
    first, _ = place(engine, limit("bob", "buy", 10_000, 1, client_order_id="abc"))
    command = limit("bob", "sell", 20_000, 1, market="INFY-INR", client_order_id="abc")
    rejected = apply_rejected(engine, command, ErrorCode.DUPLICATE_CLIENT_ORDER_ID)
    assert rejected.order_id == first


def test_duplicate_client_order_id_after_first_filled_rejected_with_first_order_id():
    engine = funded()
    place(engine, limit("alice", "sell", 10_000, 1))
    first, _ = place(engine, limit("bob", "buy", 10_000, 1, client_order_id="abc"))
    assert engine.get_order("bob", first).status is OrderStatus.FILLED
    rejected = apply_rejected(engine, limit("bob", "buy", 10_000, 1, client_order_id="abc"),
                              ErrorCode.DUPLICATE_CLIENT_ORDER_ID)
    assert rejected.order_id == first


def test_duplicate_client_order_id_after_first_cancelled_rejected_with_first_order_id():
    engine = funded()
    first, _ = place(engine, limit("bob", "buy", 10_000, 1, client_order_id="abc"))
    apply_ok(engine, cancel("bob", first))
    rejected = apply_rejected(engine, limit("bob", "buy", 10_000, 1, client_order_id="abc"),
                              ErrorCode.DUPLICATE_CLIENT_ORDER_ID)
    assert rejected.order_id == first


def test_duplicate_client_order_id_after_first_expired_rejected_with_first_order_id():
    engine = funded()
    first, _ = place(engine, market_order("bob", "buy", 1, client_order_id="abc"))
    assert engine.get_order("bob", first).status is OrderStatus.EXPIRED
    rejected = apply_rejected(engine, limit("bob", "buy", 10_000, 1, client_order_id="abc"),
                              ErrorCode.DUPLICATE_CLIENT_ORDER_ID)
    assert rejected.order_id == first


def test_same_client_order_id_for_different_users_accepted():
    engine = funded()
    place(engine, limit("alice", "buy", 10_000, 1, client_order_id="abc"))
    oid, _ = place(engine, limit("bob", "buy", 10_000, 1, client_order_id="abc"))
    assert engine.get_order("bob", oid).client_order_id == "abc"


def test_client_order_id_is_case_sensitive():
    engine = funded()
    place(engine, limit("bob", "buy", 10_000, 1, client_order_id="abc"))
    place(engine, limit("bob", "buy", 10_000, 1, client_order_id="ABC"))


def test_rejected_order_does_not_reserve_its_client_order_id():
    engine = funded()
    apply_rejected(engine, limit("bob", "buy", 10_000, 10**6, client_order_id="abc"),
                   ErrorCode.INSUFFICIENT_BALANCE)
    place(engine, limit("bob", "buy", 10_000, 1, client_order_id="abc"))


def test_client_order_id_still_reserved_at_end_of_retention_window():
    engine = funded(RETENTION)
    first, _ = place(engine, limit("bob", "buy", 10_000, 1, client_order_id="abc"))
    apply_ok(engine, cancel("bob", first, ts=T0 + 10))
    apply_ok(engine, deposit("bob", "INR", 1, ts=T0 + 10 + RETENTION))
    rejected = apply_rejected(engine, limit("bob", "buy", 10_000, 1, client_order_id="abc",
                                            ts=T0 + 10 + RETENTION), ErrorCode.DUPLICATE_CLIENT_ORDER_ID)
    assert rejected.order_id == first
    assert engine.get_order("bob", first).status is OrderStatus.CANCELLED


def test_client_order_id_freed_after_retention_window():
    engine = funded(RETENTION)
    first, _ = place(engine, limit("bob", "buy", 10_000, 1, client_order_id="abc"))
    apply_ok(engine, cancel("bob", first, ts=T0 + 10))
    later = T0 + 10 + RETENTION + 1
    apply_ok(engine, deposit("bob", "INR", 1, ts=later))
    second, _ = place(engine, limit("bob", "buy", 10_000, 1, client_order_id="abc", ts=later))
    assert second != first
    assert engine.get_order("bob", second).client_order_id == "abc"


def test_closed_order_forgotten_after_retention_window():
    engine = funded(RETENTION)
    first, _ = place(engine, limit("bob", "buy", 10_000, 1, tif=TimeInForce.IOC))
    apply_ok(engine, deposit("bob", "INR", 1, ts=T0 + RETENTION + 1))
    assert engine.get_order("bob", first) is None
    apply_rejected(engine, cancel("bob", first, ts=T0 + RETENTION + 1), ErrorCode.ORDER_NOT_FOUND)


def test_open_order_client_order_id_never_expires():
    engine = funded(RETENTION)
    first, _ = place(engine, limit("bob", "buy", 10_000, 1, client_order_id="abc"))
    apply_ok(engine, deposit("bob", "INR", 1, ts=T0 + 100 * RETENTION))
    rejected = apply_rejected(engine, limit("bob", "buy", 10_000, 1, client_order_id="abc",
                                            ts=T0 + 100 * RETENTION), ErrorCode.DUPLICATE_CLIENT_ORDER_ID)
    assert rejected.order_id == first
    assert engine.get_order("bob", first).status is OrderStatus.NEW


def test_retention_counts_from_close_not_from_placement():
    engine = funded(RETENTION)
    first, _ = place(engine, limit("bob", "buy", 10_000, 1, client_order_id="abc"))
    closed_at = T0 + 5 * RETENTION
    apply_ok(engine, cancel("bob", first, ts=closed_at))
    apply_ok(engine, deposit("bob", "INR", 1, ts=closed_at + RETENTION))
    apply_rejected(engine, limit("bob", "buy", 10_000, 1, client_order_id="abc", ts=closed_at + RETENTION),
                   ErrorCode.DUPLICATE_CLIENT_ORDER_ID)


def test_default_retention_keeps_closed_orders_24_hours():
    engine = funded()
    first, _ = place(engine, limit("bob", "buy", 10_000, 1, client_order_id="abc"))
    apply_ok(engine, cancel("bob", first))
    day = 86_400_000
    apply_ok(engine, deposit("bob", "INR", 1, ts=T0 + day))
    apply_rejected(engine, limit("bob", "buy", 10_000, 1, client_order_id="abc", ts=T0 + day),
                   ErrorCode.DUPLICATE_CLIENT_ORDER_ID)
    apply_ok(engine, deposit("bob", "INR", 1, ts=T0 + day + 1))
    place(engine, limit("bob", "buy", 10_000, 1, client_order_id="abc", ts=T0 + day + 1))


def test_client_order_id_of_max_length_and_all_allowed_characters_accepted():
    engine = funded()
    for coid in ("a" * 36, "AZaz09_-", "x", "-", "_"):
        oid, _ = place(engine, limit("bob", "buy", 100, 1, client_order_id=coid))
        assert engine.get_order("bob", oid).client_order_id == coid


def test_client_order_id_invalid_format_rejected_invalid_request():
    engine = funded()
    for coid in ("", "a" * 37, "has space", "dot.ted", "é", "a/b", "a\n"):
        apply_rejected(engine, limit("bob", "buy", 10_000, 1, client_order_id=coid),
                       ErrorCode.INVALID_REQUEST)
