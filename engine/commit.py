"""A batch's writes as one Lua script call instead of MULTI + ~15 commands + EXEC.

Every batch writes its journal entry, DB events, replies, market-data publishes, state keys and the
removal of its in-flight list. As a MULTI/EXEC pipeline redis-py packs, sends and parses each of those
commands (tens of microseconds apiece in Python), a fixed cost per batch that dominates when requests
arrive a few at a time (bench/engine_service_bench.py --batch 3). Collected here and run by one
``EVALSHA`` of ``COMMIT``, they are one command to pack and one reply to parse, and just as atomic: Redis
runs a script to its end with nothing in between, as it runs a MULTI/EXEC block.

``COMMIT`` takes one key per write in KEYS (in order) and, in ARGV, per write: the command name, the
number of its arguments after the key, then those arguments. It returns the first write's reply (the
journal entry's id when the batch has commands; the runner puts that write first).
"""

from __future__ import annotations

from collections.abc import Mapping

COMMIT = """
local first = false
local i, k = 1, 1
while i <= #ARGV do
  local n = tonumber(ARGV[i + 1])
  local reply = redis.call(ARGV[i], KEYS[k], unpack(ARGV, i + 2, i + 1 + n))
  if k == 1 then first = reply end
  k = k + 1
  i = i + 2 + n
end
return first
"""

Value = bytes | str | int


class Writes:
    """The writes of one commit, in order, as the KEYS and ARGV of ``COMMIT``."""

    __slots__ = ("args", "keys")

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.args: list[Value] = []

    def __len__(self) -> int:
        return len(self.keys)

    def _add(self, command: str, key: str, *args: Value) -> None:
        self.keys.append(key)
        self.args.append(command)
        self.args.append(len(args))
        self.args.extend(args)

    def xadd(self, key: str, fields: Mapping[str, Value], maxlen: int | None = None) -> None:
        """XADD with an automatic id (``MAXLEN ~ maxlen`` when given)."""
        trim: tuple[Value, ...] = () if maxlen is None else ("MAXLEN", "~", maxlen)
        pairs = [item for field, value in fields.items() for item in (field, value)]
        self._add("XADD", key, *trim, "*", *pairs)

    def rpush(self, key: str, *values: Value) -> None:
        self._add("RPUSH", key, *values)

    def lpush(self, key: str, *values: Value) -> None:
        self._add("LPUSH", key, *values)

    def ltrim(self, key: str, start: int, stop: int) -> None:
        self._add("LTRIM", key, start, stop)

    def expire(self, key: str, seconds: int) -> None:
        self._add("EXPIRE", key, seconds)

    def set(self, key: str, value: Value) -> None:
        self._add("SET", key, value)

    def publish(self, channel: str, message: Value) -> None:
        self._add("PUBLISH", channel, message)

    def delete(self, key: str) -> None:
        self._add("DEL", key)
