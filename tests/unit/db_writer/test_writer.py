"""The writer's adaptive batch size (the I/O loop itself is tested against real Redis and PostgreSQL)."""

from __future__ import annotations

from db_writer.writer import BEHIND_S, MIN_BATCH, Writer
from shared.keys import Keys

NOW_S = 1_700_000_000.0


def writer(batch_size: int = 20) -> Writer:
    return Writer(None, "postgresql://127.0.0.1/x", Keys("t"), batch_size=batch_size,  # type: ignore[arg-type]
                  clock=lambda: NOW_S)


def read(w: Writer, entries: int, behind_s: float) -> None:
    ms = int((NOW_S - behind_s) * 1000)
    w._adapt([(f"{ms}-{n}".encode(), {}) for n in range(entries)])


def test_reads_stay_small_while_the_writer_keeps_up():
    w = writer()
    assert w.read_count == MIN_BATCH
    for _ in range(10):
        read(w, MIN_BATCH, BEHIND_S / 2)
        read(w, 1, 0.05)
    assert w.read_count == MIN_BATCH


def test_a_backlog_that_does_not_shrink_doubles_reads_up_to_the_batch_size_then_they_shrink_back():
    w = writer()
    behind = 2.0
    for _ in range(6):
        read(w, w.read_count, behind)
        behind += 0.5
    assert w.read_count == 20
    read(w, 20, behind - 0.2)  # gaining ground, still behind: keep the size
    assert w.read_count == 20
    read(w, 20, BEHIND_S / 2)  # caught up
    read(w, 3, 0.1)
    assert w.read_count == 5
    read(w, 1, 0.1)
    assert w.read_count == MIN_BATCH


def test_a_batch_size_below_the_minimum_is_never_exceeded():
    w = writer(batch_size=2)
    for behind in (2.0, 3.0, 4.0):
        read(w, 2, behind)
    assert w.read_count == 2
