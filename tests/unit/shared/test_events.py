"""Event records: each class's hand-written astuple() follows its FIELDS, and encoding is canonical."""

import inspect

import orjson

from shared import events
from shared.messages import Message
from tests.support.factories import deposit, limit, new_engine

EVENT_CLASSES = {cls for _, cls in inspect.getmembers(events, inspect.isclass)
                 if issubclass(cls, Message) and cls is not Message}


def one_of_each() -> dict[type, Message]:
    engine = new_engine()
    produced: list[Message] = []
    for command in (deposit("a", "INR", 1_000_000), deposit("b", "TATA", 10),
                    limit("b", "sell", 10_000, 5), limit("a", "buy", 10_000, 2), limit("a", "buy", 0, 1)):
        produced.extend(engine.apply(command))
    for event in list(produced):
        if isinstance(event, events.OrderUpdated):
            produced.append(event.order)
            produced.extend(event.order.fills)
    return {type(e): e for e in produced}


def test_astuple_lists_every_field_in_declaration_order():
    samples = one_of_each()
    assert set(samples) == EVENT_CLASSES
    for cls, record in samples.items():
        assert record.astuple() == tuple(getattr(record, name) for name in cls.FIELDS), cls.__name__


def test_every_event_type_is_encoded_with_its_name_and_fields_in_order():
    assert set(events.EVENT_TYPES) == {"order", "trade", "balance", "depth", "rejected"}
    trade = one_of_each()[events.Trade]
    assert orjson.loads(events.encode_event(trade)) == ["trade", *orjson.loads(orjson.dumps(trade.astuple()))]


def _generic(record: object) -> object:
    """A record as nested lists of its astuple() fields, whatever its type (the reference encoding)."""
    if isinstance(record, Message):
        return [_generic(value) for value in record.astuple()]
    if isinstance(record, tuple | list):
        return [_generic(value) for value in record]
    return record


def test_every_event_encodes_as_its_fields_with_nested_records_as_lists():
    samples = one_of_each()
    order_event = samples[events.OrderUpdated]
    assert order_event.order.fills, "the sample order must carry a fill"
    for cls, name in ((events.OrderUpdated, "order"), (events.Trade, "trade"),
                      (events.BalanceChanged, "balance"), (events.DepthUpdate, "depth"),
                      (events.Rejected, "rejected")):
        record = samples[cls]
        expected = [name, *orjson.loads(orjson.dumps(_generic(record)))]
        assert orjson.loads(events.encode_event(record)) == expected, name
    listed = [samples[cls] for cls in (events.Trade, events.OrderUpdated, events.Rejected)]
    expected_list = [orjson.loads(events.encode_event(e)) for e in listed]
    assert orjson.loads(events.encode_events(listed)) == expected_list


def test_stored_event_types_are_what_the_db_writer_keeps():
    stored = {events.OrderUpdated, events.Trade, events.BalanceChanged}
    assert stored == events.STORED_EVENT_TYPES


def test_the_db_writers_stream_keeps_stored_events_and_drops_order_fills():
    samples = one_of_each()
    produced = [samples[cls] for cls in (events.Trade, events.OrderUpdated, events.BalanceChanged,
                                         events.DepthUpdate, events.Rejected)]
    kept = events.stored_events(produced)
    assert kept == [samples[events.Trade], samples[events.OrderUpdated], samples[events.BalanceChanged]]
    encoded = orjson.loads(events.encode_stored_events(kept))
    full = orjson.loads(events.encode_events(kept))
    assert samples[events.OrderUpdated].order.fills  # the sample has fills to drop
    assert encoded[1][:-1] == full[1][:-1] and encoded[1][-1][:-1] == full[1][-1][:-1]
    assert encoded[1][-1][-1] == []
    assert [encoded[0], encoded[2]] == [full[0], full[2]]


def test_the_db_writers_rows_are_grouped_per_table_flat_and_without_fills():
    samples = one_of_each()
    trade, update, change = (samples[cls]
                             for cls in (events.Trade, events.OrderUpdated, events.BalanceChanged))
    stored = [change, trade, update, change]
    trades, orders, balances = (orjson.loads(part) for part in events.encode_stored_rows(stored))
    assert trades == [list(orjson.loads(events.encode_event(trade))[1:])]
    assert balances == [list(orjson.loads(events.encode_event(change))[1:])] * 2
    order = update.order
    assert order.fills  # the sample has fills to drop
    assert orders == [[update.seq, update.ts, *(orjson.loads(orjson.dumps(getattr(order, f)))
                                                 for f in events.OrderState.FIELDS[:-1])]]
    assert events.encode_stored_rows([]) == (b"[]", b"[]", b"[]")
