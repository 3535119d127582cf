"""Prefixing every service's output with a padded (and, on a terminal, coloured) ``name | ``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TextIO

# Foreground colours that read on dark and light terminals; the launcher's own lines stay uncoloured.
COLOURS = (36, 33, 32, 35, 34, 96, 93, 92, 95)
MAX_LINE = 64 * 1024  # a longer line is cut into pieces of this size rather than held in memory


def use_colour(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """Colour when writing to a terminal, unless NO_COLOR is set; FORCE_COLOR forces it."""
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def prefix(name: str, width: int, colour: int | None) -> str:
    """``name`` padded to ``width`` followed by `` | ``, wrapped in an ANSI colour when one is given."""
    label = f"{name.ljust(width)} | "
    return f"\x1b[{colour}m{label}\x1b[0m" if colour is not None else label


class LineSplitter:
    """Turn chunks of bytes into complete text lines; keeps the unfinished tail until more arrives."""

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self._tail = b""
        self._max = max_line

    def feed(self, chunk: bytes) -> list[str]:
        data = self._tail + chunk
        *complete, self._tail = data.split(b"\n")
        while len(self._tail) >= self._max:
            complete.append(self._tail[: self._max])
            self._tail = self._tail[self._max:]
        return [_decode(line) for line in complete]

    def flush(self) -> list[str]:
        """The unterminated last line, if any (call at end of stream)."""
        tail, self._tail = self._tail, b""
        return [_decode(tail)] if tail else []


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").rstrip("\r")


class LogSink:
    """Write lines to one stream, each with its service's prefix; one write and flush per line."""

    def __init__(self, stream: TextIO, names: Iterable[str], colour: bool) -> None:
        self._stream = stream
        self._width = max((len(n) for n in (*names, "launcher")), default=8)
        self._colour = colour
        self._colours: dict[str, int | None] = {"launcher": None}
        self._closed = False

    def add(self, name: str) -> None:
        """Give ``name`` the next colour (and widen the column if needed)."""
        if name not in self._colours:
            self._colours[name] = COLOURS[(len(self._colours) - 1) % len(COLOURS)] if self._colour else None
        self._width = max(self._width, len(name))

    def line(self, name: str, text: str) -> None:
        """Write one prefixed line; once the stream is gone (terminal closed, pipe reader exited), drop
        lines instead of raising, so the services' output keeps being read and none of them blocks."""
        self.add(name)
        if self._closed:
            return
        try:
            self._stream.write(prefix(name, self._width, self._colours[name]) + text + "\n")
            self._stream.flush()
        except (OSError, ValueError):
            self._closed = True

    def say(self, text: str) -> None:
        """A line from the launcher itself."""
        self.line("launcher", text)

