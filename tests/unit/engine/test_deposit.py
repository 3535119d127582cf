"""Deposit: credits available balance; validates asset, amount and user."""


from shared.commands import Deposit
from shared.errors import ErrorCode
from shared.events import BalanceChanged
from tests.support.factories import T0, apply_ok, apply_rejected, balance, deposit, fund, limit, new_engine

MAX_INR_PAISE = 100_000_000_000  # 1,000,000,000 INR in paise
MAX_TATA_SHARES = 1_000_000_000


def test_deposit_inr_credits_available_and_emits_one_balance_changed():
    engine = new_engine()
    events = apply_ok(engine, deposit("alice", "INR", 123_456))
    assert events == [BalanceChanged(1, T0, "alice", "INR", 123_456, 0, 123_456, 0)]
    assert balance(engine, "alice", "INR") == (123_456, 0)
    assert engine.depth("TATA-INR", 10) == (0, [], [])


def test_deposit_twice_adds_up_with_delta_of_second_only():
    engine = new_engine()
    apply_ok(engine, deposit("alice", "TATA", 7))
    events = apply_ok(engine, deposit("alice", "TATA", 5, ts=T0 + 1))
    assert events == [BalanceChanged(2, T0 + 1, "alice", "TATA", 12, 0, 5, 0)]
    assert balance(engine, "alice", "TATA") == (12, 0)


def test_deposit_does_not_touch_locked_balance():
    engine = new_engine()
    fund(engine, "alice", inr=20_000)
    apply_ok(engine, limit("alice", "buy", 10_000, 1))
    events = apply_ok(engine, deposit("alice", "INR", 1))
    assert events == [BalanceChanged(3, T0, "alice", "INR", 10_001, 10_000, 1, 0)]


def test_deposit_unknown_asset_rejected_invalid_request():
    engine = new_engine()
    fund(engine, "alice", inr=100)
    rejected = apply_rejected(engine, deposit("alice", "USD", 100), ErrorCode.INVALID_REQUEST)
    assert rejected.user_id == "alice"
    assert rejected.order_id is None


def test_deposit_lowercase_asset_rejected_invalid_request():
    apply_rejected(new_engine(), deposit("alice", "inr", 100), ErrorCode.INVALID_REQUEST)


def test_deposit_zero_amount_rejected_invalid_quantity():
    apply_rejected(new_engine(), deposit("alice", "INR", 0), ErrorCode.INVALID_QUANTITY)


def test_deposit_negative_amount_rejected_invalid_quantity():
    engine = new_engine()
    fund(engine, "alice", inr=500)
    apply_rejected(engine, deposit("alice", "INR", -100), ErrorCode.INVALID_QUANTITY)
    assert balance(engine, "alice", "INR") == (500, 0)


def test_deposit_above_bound_rejected_invalid_quantity():
    engine = new_engine()
    apply_rejected(engine, deposit("alice", "INR", MAX_INR_PAISE + 1), ErrorCode.INVALID_QUANTITY)
    apply_rejected(engine, deposit("alice", "TATA", MAX_TATA_SHARES + 1), ErrorCode.INVALID_QUANTITY)


def test_deposit_exactly_at_bound_accepted():
    engine = new_engine()
    apply_ok(engine, deposit("alice", "INR", MAX_INR_PAISE))
    apply_ok(engine, deposit("alice", "TATA", MAX_TATA_SHARES))
    assert balance(engine, "alice", "INR") == (MAX_INR_PAISE, 0)
    assert balance(engine, "alice", "TATA") == (MAX_TATA_SHARES, 0)


def test_deposit_invalid_user_rejected_invalid_request():
    engine = new_engine()
    for user in ("", "u" * 65):
        apply_rejected(engine, Deposit(user, "INR", 100, T0), ErrorCode.INVALID_REQUEST)  # type: ignore[arg-type]


def test_deposit_unknown_asset_and_bad_amount_rejected_invalid_request_first():
    apply_rejected(new_engine(), deposit("alice", "USD", 0), ErrorCode.INVALID_REQUEST)


