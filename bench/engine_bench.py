"""Engine core benchmark (issue: engine core). Pure engine, no I/O; prints figures, asserts nothing.

Standard workload, seed 42, one market (TATA-INR), 200,000 operations:
70% limit orders (buy/sell 50/50; 80% passive 1..50 ticks from the mid of 1000.00 so they rest, 20%
priced up to 50 ticks through the mid so they cross), 20% cancels of a random resting order, 10% market
orders of 1..10; limit quantities 1..100; 100 users, each funded so nothing is rejected.
Deep-book variant: 100,000 passive orders rest first (untimed), then 20,000 operations of the same mix.

The command list is generated once (a generation pass tracks which orders rest, so every cancel hits an
open order) and then applied to fresh engines; the timing covers ``Engine.apply`` only, events included.
Both wall-clock and process CPU time are reported: on this shared 2-core box the wall clock also counts
time the process waited for a core, CPU time counts only what it got (the "one core" of the target).

Run: .venv/bin/python bench/engine_bench.py [--ops N] [--deep-ops N] [--runs 3]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import statistics
import sys
import time
from collections import Counter

from engine.core import Engine
from shared.commands import CancelOrder, Command, Deposit, PlaceOrder
from shared.events import OrderUpdated, Rejected
from shared.markets import load_markets
from shared.types import OrderType, Side, TimeInForce

MARKET = "TATA-INR"
MID = 100_000  # 1000.00 in ticks of 0.01
USERS = [f"user{i}" for i in range(100)]


class Workload:
    """Generates valid commands, tracking resting orders through a generation engine."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.engine = Engine(load_markets())
        self.resting: list[int] = []
        self.position: dict[int, int] = {}
        self.ts = 1_700_000_000_000
        self.commands: list[Command] = []

    def funding(self) -> list[Command]:
        cmds: list[Command] = []
        for user in USERS:
            cmds.append(Deposit(user, "INR", 10**11, self.ts))
            cmds.append(Deposit(user, "TATA", 10**9, self.ts))
        for cmd in cmds:
            self._apply(cmd)
        return cmds

    def passive(self) -> PlaceOrder:
        rng = self.rng
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        offset = rng.randint(1, 50)
        price = MID - offset if side is Side.BUY else MID + offset
        return self._limit(side, price)

    def _limit(self, side: Side, price: int) -> PlaceOrder:
        return PlaceOrder(self.rng.choice(USERS), MARKET, side, OrderType.LIMIT, price,
                          self.rng.randint(1, 100), TimeInForce.GTC, False, None, self.ts)

    def next_op(self) -> Command:
        rng = self.rng
        roll = rng.random()
        if roll < 0.70:
            if rng.random() < 0.8:
                return self.passive()
            side = Side.BUY if rng.random() < 0.5 else Side.SELL
            offset = rng.randint(0, 50)
            return self._limit(side, MID + offset if side is Side.BUY else MID - offset)
        if roll < 0.90 and self.resting:
            order_id = self.resting[rng.randrange(len(self.resting))]
            return CancelOrder(self.engine.orders[order_id].user_id, order_id, self.ts)
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        return PlaceOrder(rng.choice(USERS), MARKET, side, OrderType.MARKET, None, rng.randint(1, 10),
                          TimeInForce.GTC, False, None, self.ts)

    def generate(self, n: int, make=None) -> list[Command]:
        out = []
        for _ in range(n):
            self.ts += 1
            cmd = (make or self.next_op)()
            self._apply(cmd)
            out.append(cmd)
        return out

    def _apply(self, cmd: Command) -> None:
        for event in self.engine.apply(cmd):
            if isinstance(event, Rejected):
                raise SystemExit(f"workload produced a rejection: {event}")
            if isinstance(event, OrderUpdated):
                order = event.order
                if order.status.is_open:
                    if order.order_id not in self.position:
                        self.position[order.order_id] = len(self.resting)
                        self.resting.append(order.order_id)
                elif order.order_id in self.position:
                    index = self.position.pop(order.order_id)
                    last = self.resting.pop()
                    if last != order.order_id:
                        self.resting[index] = last
                        self.position[last] = index


def time_run(setup: list[Command], timed: list[Command]) -> tuple[float, int, float]:
    engine = Engine(load_markets())
    for cmd in setup:
        engine.apply(cmd)
    apply = engine.apply
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        cpu_started = time.process_time()
        events = 0
        for cmd in timed:
            events += len(apply(cmd))
        cpu = time.process_time() - cpu_started
        elapsed = time.perf_counter() - started
    finally:
        gc.enable()
    return elapsed, events, cpu


def count_kinds(setup: list[Command], timed: list[Command]) -> Counter[str]:
    engine = Engine(load_markets())
    for cmd in setup:
        engine.apply(cmd)
    kinds: Counter[str] = Counter()
    for cmd in timed:
        for event in engine.apply(cmd):
            kinds[type(event).__name__] += 1
    return kinds


def report(name: str, setup: list[Command], timed: list[Command], runs: int) -> float:
    results = [time_run(setup, timed) for _ in range(runs)]
    elapsed = statistics.median(r[0] for r in results)
    cpu = statistics.median(r[2] for r in results)
    events = results[0][1]
    ops = len(timed)
    kinds = count_kinds(setup, timed)
    mix = Counter(
        "cancel" if isinstance(c, CancelOrder) else f"{c.order_type}" for c in timed  # type: ignore[union-attr]
    )
    print(f"{name}: {ops:,} ops, median of {runs}: {elapsed:.3f} s -> {ops / elapsed:,.0f} ops/s, "
          f"{elapsed / ops * 1e6:.2f} us/op; {events:,} events ({events / elapsed:,.0f} events/s)")
    print(f"  CPU time (what the process got of its core), median: {cpu:.3f} s -> {ops / cpu:,.0f} ops per "
          f"CPU-second, {cpu / ops * 1e6:.2f} us/op; load average {os.getloadavg()[0]:.2f}")
    print(f"  mix: {dict(mix)}; events: {dict(kinds)}; runs: {', '.join(f'{r[0]:.3f}s' for r in results)}")
    return cpu / ops


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ops", type=int, default=200_000)
    parser.add_argument("--deep-resting", type=int, default=100_000)
    parser.add_argument("--deep-ops", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    print(f"Python {platform.python_version()} ({sys.implementation.name}) on {platform.machine()}, "
          f"seed {args.seed}")

    standard = Workload(args.seed)
    funding = standard.funding()
    standard_ops = standard.generate(args.ops)
    standard_cost = report("standard", funding, standard_ops, args.runs)

    deep = Workload(args.seed)
    deep_funding = deep.funding()
    resting = deep.generate(args.deep_resting, make=deep.passive)
    deep_ops = deep.generate(args.deep_ops)
    deep_cost = report("deep-book", deep_funding + resting, deep_ops, args.runs)
    book = deep.engine.books[MARKET]
    print(f"  deep book before timing: {args.deep_resting:,} resting orders; after: "
          f"{len(book.bids)} bid / {len(book.asks)} ask levels")
    print(f"deep-book CPU cost per op / standard: {deep_cost / standard_cost:.2f}x")


if __name__ == "__main__":
    main()
