"""ws/books.py: the book replica, its sequence checks and its snapshots."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ws.books import MAX_PENDING, BookError, BookReplica, Outcome, parse_diff

MARKET = "TATA-INR"


def diff_frame(first: int, last: int, bids: list[list[str]] | None = None,
               asks: list[list[str]] | None = None) -> bytes:
    return orjson.dumps({"stream": f"depth@{MARKET}", "data": {
        "type": "update", "firstSequence": first, "sequence": last, "bids": bids or [], "asks": asks or []}})


def key(sequence: int, bids: list[list[str]] | None = None,
        asks: list[list[str]] | None = None) -> dict[str, Any]:
    return {"market": MARKET, "sequence": sequence, "bids": bids or [], "asks": asks or []}


def synced(sequence: int = 0, **levels: list[list[str]]) -> BookReplica:
    book = BookReplica(MARKET)
    assert book.load(key(sequence, levels.get("bids"), levels.get("asks")))
    return book


def receive(book: BookReplica, first: int, last: int, bids: list[list[str]] | None = None,
            asks: list[list[str]] | None = None) -> tuple[Outcome, bytes | None]:
    return book.receive(parse_diff(diff_frame(first, last, bids, asks)))


def test_missing_key_loads_empty_book_at_zero() -> None:
    book = BookReplica(MARKET)
    assert not book.synced
    assert book.load(None)
    assert book.synced and book.sequence == 0
    assert orjson.loads(book.snapshot_frame()) == {
        "stream": "depth@TATA-INR", "data": {"type": "snapshot", "sequence": 0, "bids": [], "asks": []}}


def test_snapshot_orders_levels_as_decimals_best_first() -> None:
    book = synced(5, bids=[["9.50", "1"], ["10.00", "2"], ["100.00", "3"]],
                  asks=[["100.01", "1"], ["99.99", "2"], ["1000.00", "4"]])
    data = orjson.loads(book.snapshot_frame())["data"]
    assert data["sequence"] == 5
    assert data["bids"] == [["100.00", "3"], ["10.00", "2"], ["9.50", "1"]]
    assert data["asks"] == [["99.99", "2"], ["100.01", "1"], ["1000.00", "4"]]


def test_contiguous_diff_applied_and_forwarded_as_received() -> None:
    book = synced(10, bids=[["100.00", "5"]])
    diff = parse_diff(diff_frame(11, 12, bids=[["100.00", "0"], ["99.00", "3"]], asks=[["101.00", "2"]]))
    outcome, frame = book.receive(diff)
    assert outcome is Outcome.APPLIED
    assert frame is diff.frame  # encoded once by the engine, forwarded as is
    assert book.sequence == 12
    assert book.levels() == ([["99.00", "3"]], [["101.00", "2"]])


def test_zero_in_any_notation_removes_level_and_equal_prices_are_one_level() -> None:
    book = synced(0, asks=[["101.50", "2"], ["102.00", "1"]])
    receive(book, 1, 1, asks=[["101.5", "7"]])
    assert book.levels()[1] == [["101.5", "7"], ["102.00", "1"]]
    receive(book, 2, 2, asks=[["102.00", "0.00"]])
    assert book.levels()[1] == [["101.5", "7"]]


def test_removing_absent_level_is_harmless() -> None:
    book = synced(0)
    assert receive(book, 1, 1, bids=[["5.00", "0"]])[0] is Outcome.APPLIED
    assert book.levels() == ([], [])


def test_stale_diff_dropped() -> None:
    book = synced(10, bids=[["100.00", "5"]])
    assert receive(book, 9, 10, bids=[["100.00", "1"]]) == (Outcome.STALE, None)
    assert receive(book, 3, 3, bids=[["1.00", "1"]]) == (Outcome.STALE, None)
    assert book.levels() == ([["100.00", "5"]], [])


def test_gap_desyncs_and_newer_key_resyncs_with_pending_diffs() -> None:
    book = synced(10)
    assert receive(book, 13, 13, bids=[["1.00", "1"]]) == (Outcome.GAP, None)
    assert not book.synced
    assert receive(book, 14, 15, bids=[["2.00", "2"]]) == (Outcome.PENDING, None)
    assert receive(book, 16, 16, bids=[["1.00", "0"]]) == (Outcome.PENDING, None)
    assert not book.load(key(11, bids=[["9.00", "9"]]))  # key lags: 12 is still missing
    assert not book.synced
    assert book.load(key(13, bids=[["9.00", "9"], ["1.00", "1"]]))
    assert book.synced and book.sequence == 16
    assert book.levels() == ([["9.00", "9"], ["2.00", "2"]], [])


def test_key_newer_than_every_pending_diff_drops_them() -> None:
    book = BookReplica(MARKET)
    receive(book, 1, 2, bids=[["1.00", "1"]])
    receive(book, 3, 3, bids=[["2.00", "1"]])
    assert book.load(key(7, asks=[["5.00", "1"]]))
    assert book.sequence == 7
    assert book.levels() == ([], [["5.00", "1"]])
    assert receive(book, 3, 3)[0] is Outcome.STALE
    assert receive(book, 8, 8)[0] is Outcome.APPLIED


def test_gap_inside_pending_keeps_replica_unsynced() -> None:
    book = BookReplica(MARKET)
    receive(book, 5, 5)
    receive(book, 8, 8)
    assert not book.load(key(4))
    assert not book.load(key(6))
    assert book.load(key(7))
    assert book.sequence == 8


def test_overlapping_diff_forwarded_as_following_the_replica() -> None:
    book = BookReplica(MARKET)
    book.load(key(10, bids=[["1.00", "1"]]))
    outcome, frame = receive(book, 9, 12, bids=[["1.00", "4"]])
    assert outcome is Outcome.APPLIED and frame is not None
    data = orjson.loads(frame)["data"]
    assert (data["firstSequence"], data["sequence"]) == (11, 12)
    assert data["bids"] == [["1.00", "4"]]
    assert book.sequence == 12


def test_desync_clears_pending() -> None:
    book = BookReplica(MARKET)
    receive(book, 1, 1, bids=[["1.00", "1"]])
    book.desync()
    assert book.load(key(0))
    assert book.levels() == ([], [])


def test_pending_bounded_oldest_dropped() -> None:
    book = BookReplica(MARKET)
    for sequence in range(1, MAX_PENDING + 11):
        receive(book, sequence, sequence, bids=[[f"{sequence}.00", "1"]])
    assert not book.load(key(0))  # diffs 1..10 were dropped: a key at 0 cannot bridge
    assert book.load(key(10))
    assert book.sequence == MAX_PENDING + 10
    assert len(book.levels()[0]) == MAX_PENDING


def test_snapshot_encoded_once_per_state() -> None:
    book = synced(0)
    first = book.snapshot_frame()
    assert book.snapshot_frame() is first
    receive(book, 1, 1, bids=[["1.00", "1"]])
    second = book.snapshot_frame()
    assert second is not first
    assert orjson.loads(second)["data"]["sequence"] == 1


@pytest.mark.parametrize("frame", [
    b"not json",
    b"[]",
    b'{"stream":"depth@TATA-INR"}',
    b'{"stream":"depth@TATA-INR","data":{"type":"snapshot","sequence":1,"bids":[],"asks":[]}}',
    diff_frame(3, 2),
    diff_frame(-1, 2),
    b'{"stream":"depth@TATA-INR","data":{"type":"update","firstSequence":true,"sequence":1,"bids":[],"asks":[]}}',
    b'{"stream":"depth@TATA-INR","data":{"type":"update","firstSequence":1,"sequence":1,"bids":{},"asks":[]}}',
    b'{"stream":"depth@TATA-INR","data":{"type":"update","firstSequence":1,"sequence":1,"asks":[]}}',
    diff_frame(1, 1, bids=[["1.00"]]),
    diff_frame(1, 1, bids=[["1.00", 1]]),  # type: ignore[list-item]
    diff_frame(1, 1, bids=[["abc", "1"]]),
    diff_frame(1, 1, asks=[["1.00", "-1"]]),
])
def test_malformed_diff_raises_book_error(frame: bytes) -> None:
    with pytest.raises(BookError):
        parse_diff(frame)


@pytest.mark.parametrize("document", [
    [], "x", {"market": MARKET, "sequence": "1", "bids": [], "asks": []},
    {"market": "INFY-INR", "sequence": 1, "bids": [], "asks": []},
    {"market": MARKET, "sequence": 1, "bids": [["1.00", "x"]], "asks": []},
    {"market": MARKET, "sequence": 1, "asks": []},
])
def test_malformed_key_raises_book_error_and_changes_nothing(document: object) -> None:
    book = synced(3, bids=[["1.00", "1"]])
    with pytest.raises(BookError):
        book.load(document)
    assert book.sequence == 3 and book.levels() == ([["1.00", "1"]], [])


# --- property: a replica loaded from any key state, fed the diffs after it, ends equal to the book

_updates = st.lists(st.tuples(st.booleans(), st.integers(1, 30), st.integers(0, 5)), min_size=1, max_size=120)


@given(updates=_updates, batch_sizes=st.lists(st.integers(1, 6), min_size=1), load_at=st.integers(0, 200),
       lag=st.integers(0, 3))
def test_replica_matches_book_from_any_start(updates: list[tuple[bool, int, int]], batch_sizes: list[int],
                                             load_at: int, lag: int) -> None:
    # the engine's side: apply updates one sequence each, merge them into batches (one frame each)
    book: dict[bool, dict[int, int]] = {True: {}, False: {}}
    frames: list[tuple[int, int, bytes]] = []
    states: list[dict[str, Any]] = [key(0)]  # the key after each batch
    sequence, index, batch = 0, 0, 0
    while index < len(updates):
        size = batch_sizes[batch % len(batch_sizes)]
        chunk, index, batch = updates[index:index + size], index + size, batch + 1
        first = sequence + 1
        changed: dict[bool, dict[int, int]] = {True: {}, False: {}}
        for is_bid, price, quantity in chunk:
            sequence += 1
            changed[is_bid][price] = quantity
            if quantity:
                book[is_bid][price] = quantity
            else:
                book[is_bid].pop(price, None)
        frames.append((first, sequence, diff_frame(first, sequence, _levels(changed[True]),
                                                   _levels(changed[False]))))
        states.append(key(sequence, _levels(book[True]), _levels(book[False])))
    # the replica subscribes before batch `start` and reads a key up to `lag` batches older
    start = load_at % len(frames)
    replica = BookReplica(MARKET)
    for _, _, frame in frames[start:start + 2]:
        replica.receive(parse_diff(frame))
    assert replica.load(states[max(0, start - lag)]) is (lag == 0 or start == 0)
    if not replica.synced:
        assert replica.load(states[start])
    for _, _, frame in frames[start + 2:]:
        outcome, _ = replica.receive(parse_diff(frame))
        assert outcome is Outcome.APPLIED
    assert replica.sequence == sequence
    assert replica.levels() == (_levels(book[True])[::-1], _levels(book[False]))


def _levels(side: dict[int, int]) -> list[list[str]]:
    """Levels lowest price first; prices compare as numbers (9 < 10), rendered like the engine."""
    return [[f"{price}.00", str(quantity)] for price, quantity in sorted(side.items())]
