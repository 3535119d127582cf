"""The base of every command and event: immutable records with equality, repr and a field tuple.

Subclasses are plain classes with ``Final`` attributes set in ``__init__`` and list their fields in
``FIELDS``. Why not frozen dataclasses or NamedTuples: these modules are compiled with mypyc (setup.py),
where such a class is built ~30x faster than a frozen dataclass and its attributes are read-only at run
time; mypy enforces the same immutability on the pure-Python build. The engine creates several of them
per command, so this is a large share of its cost (docs/benchmarks.md).
"""

from __future__ import annotations

from typing import Any, ClassVar


class Message:
    """Base of the event types: equality, repr and a field tuple derived from ``FIELDS``."""

    __slots__ = ()
    FIELDS: ClassVar[tuple[str, ...]] = ()

    def astuple(self) -> tuple[Any, ...]:
        """The field values in declaration order."""
        return tuple([getattr(self, name) for name in self.FIELDS])

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and isinstance(other, Message) and other.astuple() == self.astuple()

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.astuple()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS)
        return f"{type(self).__name__}({fields})"

    def replace(self, **changes: Any) -> Any:
        """A copy with some fields changed."""
        values = dict(zip(self.FIELDS, self.astuple(), strict=True))
        values.update(changes)
        return type(self)(**values)


def _read_only_setattr(self: Message, name: str, value: Any) -> None:
    if hasattr(self, name):
        raise AttributeError(f"{type(self).__name__}.{name} is read-only")
    object.__setattr__(self, name, value)


# The compiled classes make their Final attributes read-only themselves; the pure-Python build gets the
# same guarantee at run time from this hook (each attribute may be set once, in __init__).
if __file__.endswith(".py"):
    setattr(Message, "__setattr__", _read_only_setattr)  # noqa: B010 - mypy forbids assigning a method
