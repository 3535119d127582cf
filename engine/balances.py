"""A user's balance of one asset, with the scratch the engine needs to report what a command changed."""

from __future__ import annotations


class Balance:
    """``available`` and ``locked`` minor units; ``start_*`` hold the values before the current command."""

    __slots__ = ("asset", "available", "locked", "start_available", "start_locked", "touched", "user_id")

    def __init__(self, user_id: str, asset: str, available: int = 0, locked: int = 0) -> None:
        self.user_id = user_id
        self.asset = asset
        self.available = available
        self.locked = locked
        self.start_available = available
        self.start_locked = locked
        self.touched = False
