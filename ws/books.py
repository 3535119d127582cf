"""A replica of each market's order book, kept from the engine's ``depth@M`` diffs (pure, no I/O).

The engine publishes diffs ``{"type":"update","firstSequence":U,"sequence":u,"bids":[[p,q],..],"asks":..}``
where ``q`` is a level's new absolute quantity (``"0"`` removes it), and keeps the whole book in the
key ``{ns}:depth:<M>`` (docs/internals.md). A :class:`BookReplica` follows the procedure given there:

- **unsynced** (at start, after a gap, after a lost Redis connection): diffs are kept in a bounded
  pending list; :meth:`BookReplica.load` takes the key's content, drops pending diffs with
  ``u <= sequence`` and applies the rest. If they do not line up with the key (the key lags: the engine
  rewrites it at most every 50 ms), the replica stays unsynced and the caller reads the key again later.
- **synced**: a diff with ``u <= sequence`` is stale and dropped; ``U == sequence + 1`` is applied and
  forwarded to subscribers; ``U > sequence + 1`` is a gap: the replica goes back to unsynced.

Because diffs carry absolute quantities, a diff with ``U <= sequence < u`` applied to the state at
``sequence`` yields the state at ``u`` too; the replica applies it and forwards it with ``firstSequence``
rewritten to ``sequence + 1`` so that subscribers always see ``U == previous u + 1``.

Prices are ordered as Decimals (so "101.5" and "101.50" are one level); the strings are shown as received.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any, TypeGuard

import orjson
from sortedcontainers import SortedDict

from shared.money import ConversionError, parse_decimal
from ws.protocol import DEPTH

#: Diffs kept while unsynced; beyond it the oldest are dropped (the key then has to be newer).
MAX_PENDING = 10_000
_ZERO = Decimal(0)

Level = list[str]  # [price, quantity], decimal strings


class BookError(ValueError):
    """A depth frame or depth key that does not follow docs/internals.md."""


@dataclass(frozen=True, slots=True)
class Diff:
    """One ``depth@M`` update frame: its sequence range, its levels and the raw bytes to forward."""

    first: int
    last: int
    bids: list[Level]
    asks: list[Level]
    data: dict[str, Any]
    frame: bytes


class Outcome(Enum):
    APPLIED = "applied"  # forward the frame returned with it
    STALE = "stale"  # already in the replica: drop
    GAP = "gap"  # diffs are missing: the replica is now unsynced, reload it
    PENDING = "pending"  # unsynced: kept until the next load


def depth_stream(market: str) -> str:
    return f"{DEPTH}@{market}"


def parse_diff(frame: bytes) -> Diff:
    """Parse a ``depth@M`` update frame; BookError when it does not have the documented shape."""
    try:
        message = orjson.loads(frame)
    except orjson.JSONDecodeError as exc:
        raise BookError(f"depth frame is not JSON: {exc}") from None
    data = message.get("data") if isinstance(message, dict) else None
    if not isinstance(data, dict) or data.get("type") != "update":
        raise BookError("depth frame without an update object in data")
    first, last = data.get("firstSequence"), data.get("sequence")
    if not _is_sequence(first) or not _is_sequence(last) or first > last:
        raise BookError(f"depth frame with bad sequences {first!r}..{last!r}")
    return Diff(first, last, _check_levels(data.get("bids")), _check_levels(data.get("asks")), data, frame)


class BookReplica:
    """One market's book as the engine last published it, with its sync state."""

    def __init__(self, market: str) -> None:
        self.market = market
        self.stream = depth_stream(market)
        self.synced = False
        self.sequence = 0
        # price -> [price string, quantity string]; bids iterate reversed (best = highest first)
        self._bids: SortedDict = SortedDict()
        self._asks: SortedDict = SortedDict()
        self._pending: deque[Diff] = deque(maxlen=MAX_PENDING)
        self._snapshot: bytes | None = None

    # --- feeding
    def receive(self, diff: Diff) -> tuple[Outcome, bytes | None]:
        """Take one diff from the feed; with APPLIED comes the frame to forward to subscribers."""
        if not self.synced:
            self._pending.append(diff)
            return Outcome.PENDING, None
        if diff.last <= self.sequence:
            return Outcome.STALE, None
        if diff.first > self.sequence + 1:
            self.desync()
            self._pending.append(diff)
            return Outcome.GAP, None
        return Outcome.APPLIED, self._apply(diff)

    def desync(self) -> None:
        """Forget the sync (a lost feed or a gap): diffs are kept as pending until the next load."""
        self.synced = False
        self._pending.clear()

    def load(self, document: Any) -> bool:
        """Replace the book by the depth key's content (None: no key yet, an empty book at 0).

        Then apply the pending diffs that follow it. Return whether the replica is synced; when not, the
        key is older than the first pending diff and must be read again later.
        """
        sequence, bids, asks = _parse_document(document, self.market)
        self._bids.clear()
        self._asks.clear()
        self._set_levels(self._bids, bids)
        self._set_levels(self._asks, asks)
        self.sequence = sequence
        self._snapshot = None
        while self._pending:
            diff = self._pending[0]
            if diff.last <= self.sequence:
                self._pending.popleft()
            elif diff.first <= self.sequence + 1:
                self._pending.popleft()
                self._apply(diff)
            else:
                self.synced = False
                return False
        self.synced = True
        return True

    # --- reading
    def snapshot_frame(self) -> bytes:
        """``{"stream":"depth@M","data":{"type":"snapshot","sequence",..}}``, encoded once per state."""
        if self._snapshot is None:
            bids, asks = self.levels()
            self._snapshot = orjson.dumps({"stream": self.stream, "data": {
                "type": "snapshot", "sequence": self.sequence, "bids": bids, "asks": asks}})
        return self._snapshot

    def levels(self) -> tuple[list[Level], list[Level]]:
        """Bids (highest first) and asks (lowest first) as ``[price, quantity]`` strings."""
        return list(reversed(self._bids.values())), list(self._asks.values())

    # --- internals
    def _apply(self, diff: Diff) -> bytes:
        self._set_levels(self._bids, diff.bids)
        self._set_levels(self._asks, diff.asks)
        frame = diff.frame
        if diff.first != self.sequence + 1:  # overlapping diff: show it as following the replica
            data = {**diff.data, "firstSequence": self.sequence + 1}
            frame = orjson.dumps({"stream": self.stream, "data": data})
        self.sequence = diff.last
        self._snapshot = None
        return frame

    @staticmethod
    def _set_levels(side: SortedDict, levels: list[Level]) -> None:
        for price_text, quantity_text in levels:
            price = parse_decimal(price_text)
            if parse_decimal(quantity_text) == _ZERO:
                side.pop(price, None)
            else:
                side[price] = [price_text, quantity_text]


def _is_sequence(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_levels(levels: Any) -> list[Level]:
    if not isinstance(levels, list):
        raise BookError("depth levels must be a list")
    for level in levels:
        if not (isinstance(level, list) and len(level) == 2
                and isinstance(level[0], str) and isinstance(level[1], str)):
            raise BookError(f"depth level must be [price, quantity] strings, not {level!r}"[:200])
        try:
            parse_decimal(level[0])
            parse_decimal(level[1])
        except ConversionError as exc:
            raise BookError(f"depth level {level!r}: {exc.reason}"[:200]) from None
    return levels


def _parse_document(document: Any, market: str) -> tuple[int, list[Level], list[Level]]:
    if document is None:
        return 0, [], []
    if not isinstance(document, dict):
        raise BookError("depth key must hold a JSON object")
    if document.get("market", market) != market:
        raise BookError(f"depth key of {market} names market {document.get('market')!r}")
    sequence = document.get("sequence")
    if not _is_sequence(sequence):
        raise BookError(f"depth key with bad sequence {sequence!r}")
    return sequence, _check_levels(document.get("bids")), _check_levels(document.get("asks"))
