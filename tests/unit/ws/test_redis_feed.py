"""ws/redis_feed.py: reading a frame's stream name without decoding the whole frame."""

from __future__ import annotations

import pytest

from ws.redis_feed import stream_of


@pytest.mark.parametrize(("frame", "stream"), [
    (b'{"stream":"trade@TATA-INR","data":{"price":"1.00"}}', "trade@TATA-INR"),
    (b'{"data":{"x":1},"stream":"ticker@TATA-INR"}', "ticker@TATA-INR"),
    (b'{ "stream" : "kline.1m@TATA-INR", "data": {}}', "kline.1m@TATA-INR"),
    (b'{"stream":"orders","data":{}}', "orders"),
    (b"not json", None),
    (b"[1,2]", None),
    (b'{"stream":5,"data":{}}', None),
    (b'{"data":{}}', None),
])
def test_stream_of(frame: bytes, stream: str | None) -> None:
    assert stream_of(frame) == stream
