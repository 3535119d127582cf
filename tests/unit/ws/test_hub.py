"""ws/hub.py: subscriptions, one frame built per event for all, one write per client per turn, laggards."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ws.hub import MAX_WRITE_BATCH, Client, Hub
from ws.protocol import text_frame

TRADE = "trade@TATA-INR"


class Overflows:
    def __init__(self) -> None:
        self.clients: list[Client] = []

    def __call__(self, client: Client) -> None:
        self.clients.append(client)


class Recorder(Client):
    """A client whose socket is a list of writes; ``pause_after`` writes, it pauses (a full socket)."""

    __slots__ = ("pause_after", "writes")

    def __init__(self, limit: int = 100, on_overflow: Callable[[Client], None] | None = None,
                 pause_after: int | None = None) -> None:
        super().__init__(limit, on_overflow or Overflows())
        self.writes: list[bytes] = []
        self.pause_after = pause_after

    def write(self, data: bytes) -> None:
        self.writes.append(data)
        if self.pause_after is not None and len(self.writes) >= self.pause_after:
            self.paused = True

    def received(self) -> bytes:
        return b"".join(self.writes)


class Turns:
    """A stand-in for the loop's call_soon: records what the hub schedules, runs it on demand."""

    def __init__(self) -> None:
        self.pending: list[Callable[[], None]] = []

    def __call__(self, callback: Callable[[], None]) -> None:
        self.pending.append(callback)

    def end(self) -> None:
        pending, self.pending = self.pending, []
        for callback in pending:
            callback()


def make_hub() -> tuple[Hub, Turns]:
    turns = Turns()
    return Hub(schedule=turns), turns


def test_one_frame_object_reaches_every_subscriber_at_the_end_of_the_turn() -> None:
    hub, turns = make_hub()
    a, b, c = Recorder(), Recorder(), Recorder()
    hub.subscribe(a, TRADE)
    hub.subscribe(b, TRADE)
    hub.subscribe(c, "ticker@TATA-INR")
    frame = b'{"stream":"trade@TATA-INR","data":{}}'
    assert hub.publish(TRADE, frame) == 2
    assert a.writes == b.writes == []  # nothing written before the end of the loop turn
    turns.end()
    assert a.writes == [text_frame(frame)]
    assert a.writes[0] is b.writes[0]  # framed once: the very same bytes object for both
    assert c.writes == []
    assert hub.publish("trade@INFY-INR", frame) == 0


def test_frames_of_one_turn_go_out_in_one_write_in_order_with_one_callback() -> None:
    hub, turns = make_hub()
    clients = [Recorder() for _ in range(3)]
    for client in clients:
        hub.subscribe(client, TRADE)
        hub.subscribe(client, "ticker@TATA-INR")
    hub.publish(TRADE, b"1")
    hub.publish("ticker@TATA-INR", b"2")
    hub.send(clients[0], b"reply")
    hub.publish(TRADE, b"3")
    assert len(turns.pending) == 1
    turns.end()
    assert clients[0].writes == [b"".join(map(text_frame, (b"1", b"2", b"reply", b"3")))]
    assert clients[1].writes == [b"".join(map(text_frame, (b"1", b"2", b"3")))]
    hub.publish(TRADE, b"4")  # the next turn schedules again
    turns.end()
    assert clients[2].writes[-1] == text_frame(b"4")


def test_paused_client_keeps_its_frames_until_resumed_others_unaffected() -> None:
    hub, turns = make_hub()
    slow, fast = Recorder(pause_after=1), Recorder()
    for client in (slow, fast):
        hub.subscribe(client, TRADE)
    for n in range(5):
        hub.publish(TRADE, b"%d" % n)
        turns.end()
    assert slow.paused and slow.received() == text_frame(b"0")
    assert fast.received() == b"".join(text_frame(b"%d" % n) for n in range(5))
    slow.pause_after = None
    slow.resume()
    assert slow.received() == fast.received()
    assert not slow.out and hub.clients_dropped == 0


def test_backlog_is_written_in_bounded_chunks() -> None:
    hub, turns = make_hub()
    client = Recorder(limit=10_000, pause_after=1)
    hub.subscribe(client, TRADE)
    for n in range(MAX_WRITE_BATCH * 2 + 10):
        hub.publish(TRADE, b"%d" % n)
    turns.end()  # the first write (MAX_WRITE_BATCH frames) pauses it
    assert client.writes == [b"".join(text_frame(b"%d" % n) for n in range(MAX_WRITE_BATCH))]
    client.pause_after = None
    client.resume()
    assert len(client.writes) == 3  # MAX_WRITE_BATCH, MAX_WRITE_BATCH, then the last 10
    assert client.received() == b"".join(text_frame(b"%d" % n) for n in range(MAX_WRITE_BATCH * 2 + 10))


def test_full_list_drops_only_the_lagging_client() -> None:
    hub, turns = make_hub()
    overflows = Overflows()
    slow, fast = Recorder(2, overflows, pause_after=0), Recorder(100, overflows)
    slow.paused = True  # its socket is full from the start
    hub.subscribe(slow, TRADE)
    hub.subscribe(slow, "ticker@TATA-INR")
    hub.subscribe(fast, TRADE)
    for n in range(5):
        hub.publish(TRADE, b"%d" % n)
    turns.end()
    assert overflows.clients == [slow]
    assert slow.dropped and slow.streams == set() and slow.out == [] and slow.writes == []
    assert hub.subscribers(TRADE) == frozenset({fast})
    assert not hub.has_subscribers("ticker@TATA-INR")
    assert fast.received() == b"".join(text_frame(b"%d" % n) for n in range(5))
    assert hub.clients_dropped == 1


def test_send_to_full_list_drops_client_once() -> None:
    hub, _ = make_hub()
    overflows = Overflows()
    client = Recorder(1, overflows)
    assert hub.send(client, b"a")
    assert not hub.send(client, b"b")
    assert not hub.send(client, b"c")
    assert overflows.clients == [client]


def test_orders_need_a_user_and_reach_only_that_user() -> None:
    hub, turns = make_hub()
    alice, alice2, bob = Recorder(), Recorder(), Recorder()
    with pytest.raises(ValueError):
        hub.subscribe(alice, "orders")
    hub.set_user(alice, "u-alice")
    hub.set_user(alice2, "u-alice")
    hub.set_user(bob, "u-bob")
    for client in (alice, alice2, bob):
        hub.subscribe(client, "orders")
    assert hub.publish_orders("u-alice", b"A") == 2
    assert hub.publish_orders("u-nobody", b"N") == 0
    turns.end()
    assert alice.writes == alice2.writes == [text_frame(b"A")] and bob.writes == []


def test_reauth_moves_orders_subscription_to_new_user() -> None:
    hub, _ = make_hub()
    client = Recorder()
    hub.set_user(client, "u-1")
    hub.subscribe(client, "orders")
    hub.set_user(client, "u-2")
    assert hub.publish_orders("u-1", b"old") == 0
    assert hub.publish_orders("u-2", b"new") == 1


def test_remove_forgets_every_subscription_and_what_was_not_written() -> None:
    hub, turns = make_hub()
    client = Recorder()
    hub.set_user(client, "u-1")
    for stream in (TRADE, "depth@TATA-INR", "orders"):
        hub.subscribe(client, stream)
    hub.publish(TRADE, b"x")
    hub.remove(client)
    turns.end()
    assert client.writes == []
    assert hub.publish(TRADE, b"x") == 0
    assert hub.publish_orders("u-1", b"x") == 0
