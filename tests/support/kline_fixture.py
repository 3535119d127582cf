"""A hand-checked list of trades across candle bucket edges, and the candles it must give.

Used by the DB writer's SQL tests (every relation, both database flavours) and the API's GET /klines tests.
"""

from __future__ import annotations

from shared.events import Trade
from shared.types import Side

D = 1_699_920_000_000  # a UTC day: 2023-11-14 00:00:00.000
H = D + 22 * 3_600_000  # 22:00:00.000 that day: a second, minute and hour edge
NEXT_DAY = D + 86_400_000


def trade(trade_id: int, ts: int, price: int, quantity: int, market: str = "TATA-INR") -> Trade:
    # TATA-INR: tick 0.01 INR x lot 1 share = 1 paisa, so the quote amount is price x quantity.
    return Trade(trade_id, ts, market, trade_id, price, quantity, price * quantity, Side.BUY,
                 100 + trade_id, 200 + trade_id, "maker", "taker")


# Across bucket edges; ids 2-4 and 9-10 share a millisecond; nothing between 22:01 and 22:59.
FIXTURE = {
    1: trade(1, H - 1, 10_000, 2),  # 21:59:59.999: last ms of the previous second, minute and hour
    2: trade(2, H, 10_050, 1),
    3: trade(3, H, 9_990, 4),
    4: trade(4, H, 10_020, 1),
    5: trade(5, H + 999, 10_100, 3),  # last ms of second 22:00:00
    6: trade(6, H + 1_000, 10_000, 5),
    7: trade(7, H + 59_999, 9_900, 1),
    8: trade(8, H + 60_000, 9_950, 2),
    9: trade(9, H + 3_599_999, 10_200, 1),
    10: trade(10, H + 3_599_999, 10_150, 1),  # same ms as 9, later id: the close of 22:59:59, 22:59, 22h
    11: trade(11, H + 3_600_000, 10_300, 2),  # 23:00
    12: trade(12, NEXT_DAY, 10_400, 1),  # the next UTC day
    13: trade(13, H, 250_000, 1, market="RELIANCE-INR"),  # another market, same ms
}
# Arrival order scrambled (a later id before an earlier one in the same bucket), then two replays.
BATCHES = [[4, 5, 6], [2, 3], [1, 7, 8, 13], [10, 11], [9, 12], [2, 3], [10, 11]]

T, R = "TATA-INR", "RELIANCE-INR"  # the markets of the fixture
# (market, openTime) -> open, high, low, close, volume (lots), quote volume (paise), trades, first id, last id
EXPECTED = {
    "candles_1s": {
        (T, H - 1_000): (10_000, 10_000, 10_000, 10_000, 2, 20_000, 1, 1, 1),
        (T, H): (10_050, 10_100, 9_990, 10_100, 9, 90_330, 4, 2, 5),
        (T, H + 1_000): (10_000, 10_000, 10_000, 10_000, 5, 50_000, 1, 6, 6),
        (T, H + 59_000): (9_900, 9_900, 9_900, 9_900, 1, 9_900, 1, 7, 7),
        (T, H + 60_000): (9_950, 9_950, 9_950, 9_950, 2, 19_900, 1, 8, 8),
        (T, H + 3_599_000): (10_200, 10_200, 10_150, 10_150, 2, 20_350, 2, 9, 10),
        (T, H + 3_600_000): (10_300, 10_300, 10_300, 10_300, 2, 20_600, 1, 11, 11),
        (T, NEXT_DAY): (10_400, 10_400, 10_400, 10_400, 1, 10_400, 1, 12, 12),
        (R, H): (250_000, 250_000, 250_000, 250_000, 1, 250_000, 1, 13, 13),
    },
    "candles_1m": {
        (T, H - 60_000): (10_000, 10_000, 10_000, 10_000, 2, 20_000, 1, 1, 1),
        (T, H): (10_050, 10_100, 9_900, 9_900, 15, 150_230, 6, 2, 7),
        (T, H + 60_000): (9_950, 9_950, 9_950, 9_950, 2, 19_900, 1, 8, 8),
        (T, H + 3_540_000): (10_200, 10_200, 10_150, 10_150, 2, 20_350, 2, 9, 10),
        (T, H + 3_600_000): (10_300, 10_300, 10_300, 10_300, 2, 20_600, 1, 11, 11),
        (T, NEXT_DAY): (10_400, 10_400, 10_400, 10_400, 1, 10_400, 1, 12, 12),
        (R, H): (250_000, 250_000, 250_000, 250_000, 1, 250_000, 1, 13, 13),
    },
    "candles_1h": {
        (T, H - 3_600_000): (10_000, 10_000, 10_000, 10_000, 2, 20_000, 1, 1, 1),
        (T, H): (10_050, 10_200, 9_900, 10_150, 19, 190_480, 9, 2, 10),
        (T, H + 3_600_000): (10_300, 10_300, 10_300, 10_300, 2, 20_600, 1, 11, 11),
        (T, NEXT_DAY): (10_400, 10_400, 10_400, 10_400, 1, 10_400, 1, 12, 12),
        (R, H): (250_000, 250_000, 250_000, 250_000, 1, 250_000, 1, 13, 13),
    },
    "candles_1d": {
        (T, D): (10_000, 10_300, 9_900, 10_300, 23, 231_080, 11, 1, 11),
        (T, NEXT_DAY): (10_400, 10_400, 10_400, 10_400, 1, 10_400, 1, 12, 12),
        (R, D): (250_000, 250_000, 250_000, 250_000, 1, 250_000, 1, 13, 13),
    },
}
