"""Redis values as bytes: our clients never decode responses, but redis-py types them ``bytes | str``."""

from __future__ import annotations


def to_bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()
