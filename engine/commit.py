"""A batch's writes, and the take of the next batch, as one Lua script call.

Every batch writes its journal entry, DB events, replies, market-data publishes, state keys and the
removal of its requests from the in-flight list. As a MULTI/EXEC pipeline redis-py packs, sends and
parses each of those commands (tens of microseconds apiece in Python), a fixed cost per batch that
dominates when requests arrive a few at a time (bench/engine_service_bench.py --batch 3). Collected here
and run by one ``EVAL`` of ``COMMIT``, they are one command to pack and one reply to parse, and just as
atomic: Redis runs a script to its end with nothing in between, as it runs a MULTI/EXEC block.

The same call then moves the next batch from the shard's ``in`` list to the end of its ``inflight`` list
and returns it, so a busy engine needs one round trip per batch, and it can apply that batch while
Redis runs the commit of the previous one (engine/runner.py).

``COMMIT`` takes KEYS = ``in``, ``inflight``, then one key per write (in order); ARGV = the number of
requests to remove from the head of ``inflight`` (the committed batch: every request taken before it is
already committed, so they are the first ones), the number of requests to take next (0: none), then per
write: the command name, the number of its arguments after the key, then those arguments. It returns
``[first write's reply, taken requests]`` (the first reply is the journal entry's id when the batch has
commands; the runner puts that write first).

:meth:`Writes.command` is the whole ``EVAL`` call; the runner packs it with ``shared.wire.pack_command``
(compiled) on its own connection: redis-py's packer costs about a microsecond per argument in Python,
and a batch carries one argument per reply.
"""

from __future__ import annotations

from collections.abc import Mapping

COMMIT = """
local first = false
local i, k = 3, 3
while i <= #ARGV do
  local n = tonumber(ARGV[i + 1])
  local reply = redis.call(ARGV[i], KEYS[k], unpack(ARGV, i + 2, i + 1 + n))
  if k == 3 then first = reply end
  k = k + 1
  i = i + 2 + n
end
local done = tonumber(ARGV[1])
if done > 0 then
  redis.call('LTRIM', KEYS[2], done, -1)
end
local items = {}
local take = tonumber(ARGV[2])
if take > 0 then
  items = redis.call('LRANGE', KEYS[1], 0, take - 1)
  if #items > 0 then
    redis.call('LTRIM', KEYS[1], #items, -1)
    for j = 1, #items, 1000 do  -- unpack() of more than ~8,000 values fails in Redis's Lua
      redis.call('RPUSH', KEYS[2], unpack(items, j, math.min(j + 999, #items)))
    end
  end
end
return {first, items}
"""

Value = bytes | str | int


class Writes:
    """The writes of one commit, in order, as the KEYS and ARGV of ``COMMIT`` (after its fixed ones)."""

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

    def command(self, in_key: str, inflight_key: str, done: int, take: int) -> list[Value]:
        """The ``EVAL COMMIT`` command: commit these writes, drop ``done`` requests, take ``take``."""
        return ["EVAL", COMMIT, 2 + len(self.keys), in_key, inflight_key, *self.keys, done, take,
                *self.args]
