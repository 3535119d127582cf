"""shared.markets: the shipped file, the integer scaling, and refusal of every bad markets file."""

import copy
from decimal import Decimal

import orjson
import pytest

from shared.markets import MarketsFileError, default_markets_path, load_markets, parse_markets
from shared.money import ConversionError

GOOD = {
    "assets": {"INR": {"decimals": 2}, "TATA": {"decimals": 0}},
    "markets": [{"symbol": "TATA-INR", "base": "TATA", "quote": "INR",
                 "tickSize": "0.01", "lotSize": "1", "minQuantity": "1"}],
}


def doc(**market_changes):
    """GOOD with the one market's fields changed (None deletes a field)."""
    data = copy.deepcopy(GOOD)
    for key, value in market_changes.items():
        if value is None:
            del data["markets"][0][key]
        else:
            data["markets"][0][key] = value
    return data


def refused(data, *fragments: str) -> str:
    with pytest.raises(MarketsFileError) as info:
        parse_markets(data)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


# ---------------------------------------------------------------------------------------------- shipped file


def test_shipped_file_lists_tata_reliance_infy_with_tick_001_lot_1_min_1():
    config = load_markets()
    assert set(config.markets) >= {"TATA-INR", "RELIANCE-INR", "INFY-INR"}
    for symbol in ("TATA-INR", "RELIANCE-INR", "INFY-INR"):
        market = config.markets[symbol]
        assert (market.tick_size, market.lot_size, market.min_quantity) == (
            Decimal("0.01"), Decimal(1), Decimal(1))
        assert market.quote.symbol == "INR" and market.base.symbol == symbol.split("-")[0]
        assert (market.quote_per_tick_lot, market.base_per_lot, market.min_lots) == (1, 1, 1)
        assert (market.max_price_ticks, market.max_lots) == (100_000_000_000, 1_000_000_000)


def test_shipped_file_assets_inr_two_decimals_stocks_whole_shares():
    assets = load_markets().assets
    assert assets["INR"].decimals == 2
    for stock in ("TATA", "RELIANCE", "INFY"):
        assert assets[stock].decimals == 0


def test_default_path_is_the_shipped_json():
    assert default_markets_path().name == "markets.json"
    assert load_markets(default_markets_path()) == load_markets()


def test_market_to_public_lists_plain_decimal_strings():
    market = load_markets().markets["TATA-INR"]
    assert market.to_public() == {"symbol": "TATA-INR", "base": "TATA", "quote": "INR",
                                  "tickSize": "0.01", "lotSize": "1", "minQuantity": "1"}


def test_to_public_strips_trailing_zeros():
    market = parse_markets(doc(tickSize="0.010", lotSize="10", minQuantity="10")).markets["TATA-INR"]
    assert market.to_public()["tickSize"] == "0.01"
    assert market.to_public()["lotSize"] == "10"


# ---------------------------------------------------------------------------------------------- scaling


def test_market_parses_and_formats_prices_quantities_and_quote():
    market = load_markets().markets["TATA-INR"]
    assert market.parse_price("101.50") == 10_150
    assert market.parse_quantity("10") == 10
    assert market.format_price(10_150) == "101.50"
    assert market.format_quantity(10) == "10"
    assert market.format_quote(40_560) == "405.60"
    assert market.format_quote(-5) == "-0.05"


@pytest.mark.parametrize("price", ["101.505", "0", "-1", "1000000000.01", "abc", 101.5])
def test_market_parse_price_bad_value_raises_conversion_error(price):
    with pytest.raises(ConversionError):
        load_markets().markets["TATA-INR"].parse_price(price)


@pytest.mark.parametrize("quantity", ["1.5", "0", "-2", "1000000001", "1e2"])
def test_market_parse_quantity_bad_value_raises_conversion_error(quantity):
    with pytest.raises(ConversionError):
        load_markets().markets["TATA-INR"].parse_quantity(quantity)


def test_fractional_lot_market_scales_quantities_and_minimum():
    data = {
        "assets": {"USD": {"decimals": 6}, "BTC": {"decimals": 8}},
        "markets": [{"symbol": "BTC-USD", "base": "BTC", "quote": "USD",
                     "tickSize": "0.5", "lotSize": "0.001", "minQuantity": "0.005"}],
    }
    market = parse_markets(data).markets["BTC-USD"]
    assert market.quote_per_tick_lot == 500  # 0.5 x 0.001 = 0.0005 USD = 500 millionths
    assert market.base_per_lot == 100_000  # 0.001 BTC = 100,000 satoshi
    assert market.min_lots == 5
    assert market.max_lots == 1_000_000_000_000
    assert market.max_price_ticks == 2_000_000_000
    assert market.format_quantity(5) == "0.005"


def test_fractional_lot_market_with_too_few_quote_decimals_refused():
    data = {
        "assets": {"USD": {"decimals": 2}, "BTC": {"decimals": 8}},
        "markets": [{"symbol": "BTC-USD", "base": "BTC", "quote": "USD",
                     "tickSize": "0.5", "lotSize": "0.001", "minQuantity": "0.005"}],
    }
    refused(data, "BTC-USD", "cannot be represented", "USD")


def test_tick_times_lot_scaling_for_coarse_grid():
    data = {
        "assets": {"INR": {"decimals": 2}, "GOLD": {"decimals": 3}},
        "markets": [{"symbol": "GOLD-INR", "base": "GOLD", "quote": "INR",
                     "tickSize": "0.05", "lotSize": "0.2", "minQuantity": "0.6"}],
    }
    market = parse_markets(data).markets["GOLD-INR"]
    assert market.quote_per_tick_lot == 1  # 0.05 x 0.2 = 0.01 INR = 1 paisa
    assert market.base_per_lot == 200  # 0.2 GOLD = 200 thousandths
    assert market.min_lots == 3
    assert market.parse_quantity("1.4") == 7
    assert market.format_quantity(7) == "1.4"
    assert market.parse_price("101.05") == 2_021
    assert market.format_price(2_021) == "101.05"
    with pytest.raises(ConversionError):
        market.parse_quantity("0.4")  # below minQuantity
    with pytest.raises(ConversionError):
        market.parse_quantity("0.7")  # off the lot grid


def test_tick_finer_than_quote_decimals_accepted_when_product_representable():
    market = parse_markets(doc(tickSize="0.001", lotSize="10", minQuantity="10")).markets["TATA-INR"]
    assert market.quote_per_tick_lot == 1


def test_asset_parse_amount_and_format():
    inr = load_markets().assets["INR"]
    assert inr.parse_amount("100000") == 10_000_000
    assert inr.parse_amount("0.01") == 1
    assert inr.format(10_000_000) == "100000.00"
    with pytest.raises(ConversionError):
        inr.parse_amount("0.001")
    with pytest.raises(ConversionError):
        inr.parse_amount("1000000000.01")


def test_subset_keeps_assets_and_named_markets():
    config = load_markets()
    part = config.subset(["INFY-INR"])
    assert list(part.markets) == ["INFY-INR"]
    assert part.assets == config.assets


def test_subset_with_unknown_market_raises_markets_file_error():
    with pytest.raises(MarketsFileError, match="FOO-INR"):
        load_markets().subset(["TATA-INR", "FOO-INR"])


# ---------------------------------------------------------------------------------------------- refused


def test_market_with_unknown_asset_refused_naming_it():
    refused(doc(base="GOLD", symbol="GOLD-INR"), "GOLD-INR", "unknown asset", "GOLD")


def test_market_with_unknown_quote_asset_refused_naming_it():
    refused(doc(quote="USD", symbol="TATA-USD"), "unknown asset", "USD")


def test_tick_times_lot_not_representable_in_quote_decimals_refused():
    refused(doc(tickSize="0.001"), "TATA-INR", "tickSize x lotSize", "INR", "2 decimals")


def test_tick_times_lot_with_too_many_digits_refused():
    # 1.00000000000000000000000000001 INR per tick-lot is not a whole number of paise, however the product
    # is computed (a 28-digit Decimal context would round it to 1.00).
    refused(doc(tickSize="1.00000000000000000000000000001"), "TATA-INR", "cannot be represented")


def test_lot_not_representable_in_base_decimals_refused():
    refused(doc(tickSize="0.02", lotSize="0.5", minQuantity="1"), "TATA-INR", "lotSize", "TATA", "0 decimals")


def test_min_quantity_off_lot_grid_refused():
    refused(doc(lotSize="2", minQuantity="3"), "TATA-INR", "minQuantity")


@pytest.mark.parametrize("field", ["tickSize", "lotSize", "minQuantity"])
@pytest.mark.parametrize("value", ["0", "-1", "abc", "1e-2", "", "NaN", "1000000001"])
def test_bad_step_value_refused_naming_field(field, value):
    refused(doc(**{field: value}), "TATA-INR", field)


@pytest.mark.parametrize("value", [0.01, 1, None, True])
def test_step_not_a_string_refused(value):
    data = copy.deepcopy(GOOD)
    data["markets"][0]["tickSize"] = value
    refused(data, "tickSize")


@pytest.mark.parametrize("symbol", ["TATAINR", "INR-TATA", "TATA-INR ", "tata-inr", "TATA_INR", "TATA-INR-X"])
def test_bad_market_symbol_refused(symbol):
    refused(doc(symbol=symbol), "symbol")


def test_market_symbol_not_a_string_refused():
    refused(doc(symbol=7), "must be strings")


def test_market_with_same_base_and_quote_refused():
    refused(doc(symbol="INR-INR", base="INR"), "differ")


def test_duplicate_market_refused():
    data = copy.deepcopy(GOOD)
    data["markets"].append(copy.deepcopy(data["markets"][0]))
    refused(data, "TATA-INR", "twice")


def test_market_with_extra_key_refused():
    refused(doc(maxQuantity="100"), "exactly")


@pytest.mark.parametrize("key", ["symbol", "base", "quote", "tickSize", "lotSize", "minQuantity"])
def test_market_with_missing_key_refused(key):
    refused(doc(**{key: None}), "exactly")


@pytest.mark.parametrize("data", [
    [], "x", None,
    {"assets": GOOD["assets"]},
    {"markets": GOOD["markets"]},
    {**GOOD, "extra": 1},
])
def test_document_without_exactly_assets_and_markets_refused(data):
    refused(data, '"assets"', '"markets"')


@pytest.mark.parametrize("markets", [[], {}, "TATA-INR", None])
def test_markets_not_a_non_empty_list_refused(markets):
    refused({"assets": GOOD["assets"], "markets": markets}, '"markets"')


@pytest.mark.parametrize("assets", [{}, [], None])
def test_assets_not_a_non_empty_object_refused(assets):
    refused({"assets": assets, "markets": GOOD["markets"]}, '"assets"')


@pytest.mark.parametrize("symbol", ["inr", "", "I-NR", "A" * 17, "1INR"])
def test_bad_asset_symbol_refused(symbol):
    data = copy.deepcopy(GOOD)
    data["assets"][symbol] = {"decimals": 2}
    refused(data, "asset symbol")


@pytest.mark.parametrize("spec", [{"decimals": -1}, {"decimals": 19}, {"decimals": True}, {"decimals": "2"},
                                  {"decimals": 2.0}, {}, {"decimals": 2, "name": "Rupee"}, 2])
def test_bad_asset_spec_refused(spec):
    data = copy.deepcopy(GOOD)
    data["assets"]["INR"] = spec
    refused(data, "asset INR")


def test_entry_not_an_object_refused():
    refused({"assets": GOOD["assets"], "markets": ["TATA-INR"]}, "each market")


# ---------------------------------------------------------------------------------------------- files


def test_load_markets_reads_given_file(tmp_path):
    path = tmp_path / "m.json"
    path.write_bytes(orjson.dumps(GOOD))
    config = load_markets(path)
    assert list(config.markets) == ["TATA-INR"]
    assert load_markets(str(path)) == config


def test_load_markets_missing_file_raises_with_path_and_reason(tmp_path):
    path = tmp_path / "nope.json"
    with pytest.raises(MarketsFileError) as info:
        load_markets(path)
    assert str(path) in str(info.value)
    assert "cannot read" in str(info.value)


def test_load_markets_directory_raises_markets_file_error(tmp_path):
    with pytest.raises(MarketsFileError, match="cannot read"):
        load_markets(tmp_path)


@pytest.mark.parametrize("content", [b"", b"{", b"not json", b'{"assets": {}, }', b"\xff\xfe"])
def test_load_markets_bad_json_raises_with_path(tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(MarketsFileError) as info:
        load_markets(path)
    assert str(path) in str(info.value)
    assert "not valid JSON" in str(info.value)


def test_load_markets_invalid_content_message_names_file_and_problem(tmp_path):
    path = tmp_path / "m.json"
    path.write_bytes(orjson.dumps(doc(base="GOLD", symbol="GOLD-INR")))
    with pytest.raises(MarketsFileError) as info:
        load_markets(path)
    assert str(path) in str(info.value)
    assert "unknown asset 'GOLD'" in str(info.value)
