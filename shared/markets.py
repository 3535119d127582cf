"""The markets file: assets, markets and the integer scaling every service derives from them.

A market's prices are counted in ticks and its quantities in lots. Two products make the engine's
integer arithmetic exact, and a markets file for which either is not a whole number is refused:

- ``quote_per_tick_lot``: quote minor units that one tick of price times one lot costs
  (TATA-INR, tick 0.01, lot 1, INR with 2 decimals: 1 paisa);
- ``base_per_lot``: base minor units in one lot.

The file format is in docs/api.md (Operations).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import orjson

from shared.money import MAX_UNITS, ConversionError, format_units, parse_decimal, step_scale, to_units

_ASSET_SYMBOL = re.compile(r"[A-Z][A-Z0-9]{0,15}")
_MAX_DECIMALS = 18


class MarketsFileError(ValueError):
    """The markets file is missing, malformed or inconsistent; the message names the problem."""


@dataclass(frozen=True, slots=True)
class Asset:
    symbol: str
    decimals: int

    def format(self, minor_units: int) -> str:
        """Render minor units as a decimal string with the asset's decimals."""
        return format_units(minor_units, self.decimals)

    def parse_amount(self, value: object) -> int:
        """Parse a positive amount of this asset into minor units (ConversionError if off-grid)."""
        return to_units(value, Decimal(1).scaleb(-self.decimals))


@dataclass(frozen=True, slots=True)
class Market:
    symbol: str
    base: Asset
    quote: Asset
    tick_size: Decimal
    lot_size: Decimal
    min_quantity: Decimal
    min_lots: int
    max_price_ticks: int
    max_lots: int
    quote_per_tick_lot: int
    base_per_lot: int
    _tick_int: int = field(repr=False)
    _price_decimals: int = field(repr=False)
    _lot_int: int = field(repr=False)
    _quantity_decimals: int = field(repr=False)

    def parse_price(self, value: object) -> int:
        """Decimal price -> ticks; ConversionError when off tick, <= 0 or above the bound."""
        return to_units(value, self.tick_size)

    def parse_quantity(self, value: object) -> int:
        """Decimal quantity -> lots; ConversionError when off lot, <= 0, above the bound or below minimum."""
        lots = to_units(value, self.lot_size)
        if lots < self.min_lots:
            raise ConversionError(f"must be at least {self.min_quantity}")
        return lots

    def format_price(self, ticks: int) -> str:
        return format_units(ticks * self._tick_int, self._price_decimals)

    def format_quantity(self, lots: int) -> str:
        return format_units(lots * self._lot_int, self._quantity_decimals)

    def format_quote(self, quote_minor: int) -> str:
        return self.quote.format(quote_minor)

    def to_public(self) -> dict[str, str]:
        """The market as ``GET /markets`` lists it."""
        return {
            "symbol": self.symbol,
            "base": self.base.symbol,
            "quote": self.quote.symbol,
            "tickSize": _plain(self.tick_size),
            "lotSize": _plain(self.lot_size),
            "minQuantity": _plain(self.min_quantity),
        }


@dataclass(frozen=True, slots=True)
class MarketsConfig:
    assets: dict[str, Asset]
    markets: dict[str, Market]

    def subset(self, symbols: list[str]) -> MarketsConfig:
        """The same assets with only ``symbols`` as markets (one engine shard's share)."""
        unknown = [s for s in symbols if s not in self.markets]
        if unknown:
            raise MarketsFileError(f"unknown market(s): {', '.join(unknown)}")
        return MarketsConfig(self.assets, {s: self.markets[s] for s in symbols})


def default_markets_path() -> Path:
    return Path(__file__).with_name("markets.json")


def load_markets(path: str | os.PathLike[str] | None = None) -> MarketsConfig:
    """Read and validate a markets file (the shipped one when ``path`` is None)."""
    file = Path(path) if path is not None else default_markets_path()
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise MarketsFileError(f"markets file {file}: cannot read it ({exc.strerror})") from exc
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MarketsFileError(f"markets file {file}: not valid JSON ({exc})") from exc
    try:
        return parse_markets(data)
    except MarketsFileError as exc:
        raise MarketsFileError(f"markets file {file}: {exc}") from exc


def parse_markets(data: object) -> MarketsConfig:
    """Validate a decoded markets document and derive each market's integer scaling."""
    if not isinstance(data, dict) or set(data) != {"assets", "markets"}:
        raise MarketsFileError('the document must be an object with exactly "assets" and "markets"')
    assets = _parse_assets(data["assets"])
    raw_markets = data["markets"]
    if not isinstance(raw_markets, list) or not raw_markets:
        raise MarketsFileError('"markets" must be a non-empty list')
    markets: dict[str, Market] = {}
    for entry in raw_markets:
        market = _parse_market(entry, assets)
        if market.symbol in markets:
            raise MarketsFileError(f"market {market.symbol} is listed twice")
        markets[market.symbol] = market
    return MarketsConfig(assets, markets)


def _parse_assets(raw: object) -> dict[str, Asset]:
    if not isinstance(raw, dict) or not raw:
        raise MarketsFileError('"assets" must be a non-empty object')
    assets: dict[str, Asset] = {}
    for symbol, spec in raw.items():
        if not _ASSET_SYMBOL.fullmatch(symbol):
            raise MarketsFileError(f"asset symbol {symbol!r} must be 1-16 capital letters or digits")
        if not isinstance(spec, dict) or set(spec) != {"decimals"}:
            raise MarketsFileError(f'asset {symbol}: must be an object with exactly "decimals"')
        decimals = spec["decimals"]
        if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= _MAX_DECIMALS:
            raise MarketsFileError(f"asset {symbol}: decimals must be an integer from 0 to {_MAX_DECIMALS}")
        assets[symbol] = Asset(symbol, decimals)
    return assets


_MARKET_KEYS = {"symbol", "base", "quote", "tickSize", "lotSize", "minQuantity"}


def _parse_market(entry: object, assets: dict[str, Asset]) -> Market:
    if not isinstance(entry, dict) or set(entry) != _MARKET_KEYS:
        raise MarketsFileError(f"each market must be an object with exactly {sorted(_MARKET_KEYS)}")
    symbol, base_name, quote_name = entry["symbol"], entry["base"], entry["quote"]
    if not all(isinstance(v, str) for v in (symbol, base_name, quote_name)):
        raise MarketsFileError("market symbol, base and quote must be strings")
    for name in (base_name, quote_name):
        if name not in assets:
            raise MarketsFileError(f"market {symbol}: unknown asset {name!r}")
    if base_name == quote_name:
        raise MarketsFileError(f"market {symbol}: base and quote must differ")
    if symbol != f"{base_name}-{quote_name}":
        raise MarketsFileError(f"market {symbol!r}: the symbol must be BASE-QUOTE ({base_name}-{quote_name})")
    base, quote = assets[base_name], assets[quote_name]
    tick = _positive(entry["tickSize"], symbol, "tickSize")
    lot = _positive(entry["lotSize"], symbol, "lotSize")
    min_quantity = _positive(entry["minQuantity"], symbol, "minQuantity")
    tick_int, price_decimals = step_scale(tick)
    lot_int, quantity_decimals = step_scale(lot)
    quote_per_tick_lot = _scaled(tick_int * lot_int, quote.decimals - price_decimals - quantity_decimals)
    if quote_per_tick_lot is None:
        raise MarketsFileError(
            f"market {symbol}: tickSize x lotSize = {tick * lot} cannot be represented in "
            f"{quote.symbol}'s {quote.decimals} decimals"
        )
    base_per_lot = _scaled(lot_int, base.decimals - quantity_decimals)
    if base_per_lot is None:
        raise MarketsFileError(
            f"market {symbol}: lotSize {lot} cannot be represented in "
            f"{base.symbol}'s {base.decimals} decimals"
        )
    try:
        min_lots = to_units(min_quantity, lot)
    except ConversionError as exc:
        raise MarketsFileError(f"market {symbol}: minQuantity {exc.reason} (the lotSize)") from exc
    return Market(
        symbol=symbol,
        base=base,
        quote=quote,
        tick_size=tick,
        lot_size=lot,
        min_quantity=min_quantity,
        min_lots=min_lots,
        max_price_ticks=int(MAX_UNITS / tick),
        max_lots=int(MAX_UNITS / lot),
        quote_per_tick_lot=quote_per_tick_lot,
        base_per_lot=base_per_lot,
        _tick_int=tick_int,
        _price_decimals=price_decimals,
        _lot_int=lot_int,
        _quantity_decimals=quantity_decimals,
    )


def _positive(value: object, symbol: str, name: str) -> Decimal:
    if not isinstance(value, str):
        raise MarketsFileError(f"market {symbol}: {name} must be a decimal string")
    try:
        number = parse_decimal(value)
    except ConversionError as exc:
        raise MarketsFileError(f"market {symbol}: {name} {exc.reason}") from exc
    if number <= 0 or number > MAX_UNITS:
        raise MarketsFileError(f"market {symbol}: {name} must be greater than 0 and at most {MAX_UNITS}")
    return number


def _scaled(mantissa: int, exponent: int) -> int | None:
    """mantissa x 10**exponent when that is a whole number (exact integer arithmetic), else None."""
    if exponent >= 0:
        return mantissa * 10**exponent
    divisor = 10**-exponent
    return mantissa // divisor if mantissa % divisor == 0 else None


def _plain(value: Decimal) -> str:
    """A Decimal as a plain string without exponent or trailing zeros: 0.010 -> "0.01", 1E+1 -> "10"."""
    text = format(value.normalize(), "f")
    return text
