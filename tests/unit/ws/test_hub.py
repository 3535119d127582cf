"""ws/hub.py: subscriptions, fan-out of one bytes object, lagging clients dropped."""

from __future__ import annotations

import pytest

from ws.hub import Client, Hub

TRADE = "trade@TATA-INR"


class Overflows:
    def __init__(self) -> None:
        self.clients: list[Client] = []

    def __call__(self, client: Client) -> None:
        self.clients.append(client)


def drain(client: Client) -> list[bytes]:
    frames = []
    while not client.queue.empty():
        frames.append(client.queue.get_nowait())
    return frames


def test_publish_reaches_only_subscribers_with_the_same_object() -> None:
    hub, overflows = Hub(), Overflows()
    a, b, c = (Client(10, overflows) for _ in range(3))
    hub.subscribe(a, TRADE)
    hub.subscribe(b, TRADE)
    hub.subscribe(c, "ticker@TATA-INR")
    frame = b'{"stream":"trade@TATA-INR","data":{}}'
    assert hub.publish(TRADE, frame) == 2
    got_a, got_b = drain(a), drain(b)
    assert got_a == [frame] and got_a[0] is frame and got_b[0] is frame
    assert drain(c) == []
    assert hub.publish("trade@INFY-INR", frame) == 0


def test_unsubscribe_stops_delivery_and_forgets_empty_streams() -> None:
    hub, client = Hub(), Client(10, Overflows())
    hub.subscribe(client, TRADE)
    hub.unsubscribe(client, TRADE)
    hub.unsubscribe(client, TRADE)  # twice is harmless
    assert hub.publish(TRADE, b"x") == 0
    assert not hub.has_subscribers(TRADE)
    assert client.streams == set()


def test_full_queue_drops_only_the_lagging_client() -> None:
    hub, overflows = Hub(), Overflows()
    slow, fast = Client(2, overflows), Client(100, overflows)
    hub.subscribe(slow, TRADE)
    hub.subscribe(slow, "ticker@TATA-INR")
    hub.subscribe(fast, TRADE)
    for n in range(5):
        hub.publish(TRADE, b"%d" % n)
    assert overflows.clients == [slow]
    assert slow.dropped and slow.streams == set()
    assert hub.subscribers(TRADE) == frozenset({fast})
    assert not hub.has_subscribers("ticker@TATA-INR")
    assert drain(fast) == [b"0", b"1", b"2", b"3", b"4"]
    assert hub.clients_dropped == 1


def test_send_to_full_queue_drops_client_once() -> None:
    hub, overflows = Hub(), Overflows()
    client = Client(1, overflows)
    assert hub.send(client, b"a")
    assert not hub.send(client, b"b")
    assert not hub.send(client, b"c")
    assert overflows.clients == [client]


def test_orders_need_a_user_and_reach_only_that_user() -> None:
    hub, overflows = Hub(), Overflows()
    alice, alice2, bob = (Client(10, overflows) for _ in range(3))
    with pytest.raises(ValueError):
        hub.subscribe(alice, "orders")
    hub.set_user(alice, "u-alice")
    hub.set_user(alice2, "u-alice")
    hub.set_user(bob, "u-bob")
    for client in (alice, alice2, bob):
        hub.subscribe(client, "orders")
    assert hub.publish_orders("u-alice", b"A") == 2
    assert hub.publish_orders("u-nobody", b"N") == 0
    assert drain(alice) == [b"A"] and drain(alice2) == [b"A"] and drain(bob) == []


def test_reauth_moves_orders_subscription_to_new_user() -> None:
    hub, client = Hub(), Client(10, Overflows())
    hub.set_user(client, "u-1")
    hub.subscribe(client, "orders")
    hub.set_user(client, "u-2")
    assert hub.publish_orders("u-1", b"old") == 0
    assert hub.publish_orders("u-2", b"new") == 1


def test_remove_forgets_every_subscription() -> None:
    hub, client = Hub(), Client(10, Overflows())
    hub.set_user(client, "u-1")
    for stream in (TRADE, "depth@TATA-INR", "orders"):
        hub.subscribe(client, stream)
    hub.remove(client)
    assert hub.publish(TRADE, b"x") == 0
    assert hub.publish_orders("u-1", b"x") == 0
