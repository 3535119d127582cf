"""The browser UI (frontend/) end to end in Debian's Chromium, against every service as a real process.

A trader signs up, deposits, places a limit order and sees it in open orders and in the book, cancels
it, places a market order that fills against resting liquidity and sees the trade, the balance change
and the candle. Screenshots of the trading page (laptop and phone widths) go to
tests/artifacts/screenshots/.

The liquidity comes two ways (the test runs once each): ``seeded``, a second user's orders over REST (an
ask ladder, a bid and one trade, so the markets list, ticker and chart have history before the page
opens); ``market_maker``, ``python -m market_maker`` quoting a ladder (its fair-value walk off, so the
book holds still while the browser acts on it). Every expected figure is exact in both.

Needs ``make frontend`` (the static export the API serves at /) and /usr/bin/chromium (``make
chromium``); ``make test`` does both first.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from tests.support.services import ROOT, Exchange

MARKET = "TATA-INR"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
FRONTEND_BUILD = ROOT / "frontend" / "out" / "index.html"
SCREENSHOTS = ROOT / "tests" / "artifacts" / "screenshots"
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
TICK = Decimal("0.01")
NO_VALUE = "\u2013"  # the dash the UI shows for a missing figure

# The seeded book: asks 2 @ 104.00 and 10 @ 105.00, a bid 5 @ 95.00; a
# second user then buys the 2 @ 104.00, so the market has a last price and a candle before the page opens.
SEED_FIRST_TRADE = "104.00"
SEED_BEST_ASK = "105.00"
SEED_BEST_BID = "95.00"


@pytest.fixture(params=["seeded", "market_maker"])
def liquidity(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def trading_exchange(exchange: Exchange, liquidity: str, tmp_path: Path) -> Exchange:
    """engine + api + ws (the e2e ``exchange``) plus the DB writer (klines, fills) and, when it provides
    the liquidity, the market maker (TATA-INR only, no fair-value walk, no taker): stopped with the rest."""
    exchange.spawn("db_writer")
    if liquidity == "market_maker":
        exchange.spawn("market_maker", env={
            "MM_API_URL": exchange.api_url, "MM_WS_URL": exchange.ws_url, "MM_MARKETS": MARKET,
            "MM_STATE_FILE": str(tmp_path / "mm-state.json"), "MM_WALK_BPS": "0", "MM_TAKER_RATE": "0"})
    return exchange


@pytest.fixture
def http(trading_exchange: Exchange) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=trading_exchange.api_url, timeout=10) as client:
        yield client


@pytest.fixture
def browser(trading_exchange: Exchange) -> Iterator[Browser]:
    """Chromium, started after the services and closed before them: sync Playwright holds an event loop
    in this thread while it runs, and the ``exchange`` fixture needs one of its own to make and drop its
    database."""
    if not CHROMIUM.exists():
        pytest.fail("no /usr/bin/chromium: run `make chromium` (apt-get install -y chromium)")
    if not FRONTEND_BUILD.exists():
        pytest.fail("frontend/out is missing: run `make frontend`")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class ConsoleErrors:
    """Console errors and uncaught exceptions of a page; 400s the test provoked on purpose are allowed."""

    def __init__(self, page: Page) -> None:
        self.messages: list[str] = []
        self.expected_400s = 0
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.messages.append(f"uncaught: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.messages.append(message.text)

    def unexpected(self) -> list[str]:
        allowed = self.expected_400s
        left = []
        for text in self.messages:
            if allowed and "status of 400" in text:
                allowed -= 1
                continue
            left.append(text)
        return left


def _sign_up(http: httpx.Client) -> dict[str, str]:
    response = http.post("/users")
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['apiKey']}"}


def _post(http: httpx.Client, path: str, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = http.post(path, headers=headers, json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()  # type: ignore[no-any-return]


def seed_liquidity(http: httpx.Client) -> None:
    """A resting book and one trade, from two users over REST (what the market maker will provide)."""
    maker, taker = _sign_up(http), _sign_up(http)
    _post(http, "/deposit", maker, {"asset": "TATA", "amount": "100"})
    _post(http, "/deposit", maker, {"asset": "INR", "amount": "100000"})
    _post(http, "/deposit", taker, {"asset": "INR", "amount": "100000"})
    for kind, price, quantity in (("sell", SEED_FIRST_TRADE, "2"), ("sell", SEED_BEST_ASK, "10"),
                                  ("buy", SEED_BEST_BID, "5")):
        _post(http, "/order", maker, {"market": MARKET, "kind": kind, "type": "limit", "price": price,
                                      "quantity": quantity})
    bought = _post(http, "/order", taker,
                   {"market": MARKET, "kind": "buy", "type": "market", "quantity": "2"})
    assert (bought["fillStatus"], bought["executedQuoteQuantity"]) == ("filled", "208.00"), bought


def wait_for(check: Any, what: str, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def inside_spread(depth: dict[str, Any]) -> str:
    """A bid price strictly between the best bid and the best ask, so it rests alone on its level."""
    assert depth["bids"] and depth["asks"], f"need a two-sided book: {depth}"
    bid, ask = Decimal(depth["bids"][0][0]), Decimal(depth["asks"][0][0])
    price = ((bid + ask) / 2).quantize(TICK, rounding=ROUND_FLOOR)
    assert bid < price < ask, f"no room inside the spread {bid}..{ask}"
    return format(price, "f")


def balance(page: Page, asset: str) -> Any:
    page.get_by_test_id("tab-balances").click()
    return page.get_by_test_id(f"balance-{asset}")


def place(page: Page, kind: str, order_type: str, quantity: str, price: str | None = None) -> None:
    form = page.get_by_test_id("order-form")
    form.get_by_test_id(f"side-{kind}").click()
    form.get_by_test_id(f"type-{order_type}").click()
    if price is not None:
        form.get_by_test_id("order-price").fill(price)
    form.get_by_test_id("order-quantity").fill(quantity)


def inr(amount: Decimal) -> str:
    """How the UI shows an INR amount: grouped thousands, 2 decimals."""
    return f"{amount:,.2f}"


def get_depth(http: httpx.Client) -> dict[str, Any]:
    response = http.get("/depth", params={"market": MARKET})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_trader_signs_up_trades_and_sees_book_trade_balance_and_candle(
        trading_exchange: Exchange, liquidity: str, browser: Browser, http: httpx.Client):
    site = f"http://127.0.0.1:{trading_exchange.api_port}"
    shots = f"{liquidity}-"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if liquidity == "seeded":
        seed_liquidity(http)
        wait_for(lambda: http.get("/klines", params={"market": MARKET, "interval": "1m"}).json(),
                 "the DB writer's first candle")
        earlier_trades = [(SEED_FIRST_TRADE, "2")]
    else:
        wait_for(lambda: len(get_depth(http)["asks"]) >= 2 and get_depth(http)["bids"],
                 "the market maker's quotes", timeout=30)
        earlier_trades = []
    depth = get_depth(http)
    best_ask, best_ask_quantity = depth["asks"][0]
    limit_price = inside_spread(depth)

    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    console = ConsoleErrors(page)

    # the markets list, with the last price of the trades so far
    page.goto(f"{site}/")
    row = page.get_by_test_id(f"market-row-{MARKET}")
    last_before = earlier_trades[-1][0] if earlier_trades else NO_VALUE
    expect(row.get_by_test_id("market-last")).to_have_text(last_before)
    expect(row.get_by_test_id("market-change")).to_have_text("0.00%" if earlier_trades else NO_VALUE)
    page.screenshot(path=str(SCREENSHOTS / f"{shots}laptop-markets.png"), full_page=True)
    page.get_by_test_id(f"market-link-{MARKET}").click()
    expect(page).to_have_url(f"{site}/trade/?market={MARKET}")
    expect(page.get_by_test_id("socket-status")).to_have_text("live")

    # the book from depth@M, the ticker, the trades and the chart's history from GET /klines
    book = page.get_by_test_id("order-book")
    chart = page.get_by_test_id("price-chart")
    expect(book).to_have_attribute("data-synced", "true")
    expect(book.get_by_test_id("book-ask-row").last).to_have_attribute("data-price", best_ask)  # nearest
    expect(book.get_by_test_id("book-ask-row").last).to_have_attribute("data-quantity", best_ask_quantity)
    expect(book.get_by_test_id("book-bid-row").first).to_have_attribute("data-price", depth["bids"][0][0])
    expect(page.get_by_test_id("ticker-last")).to_have_text(last_before)
    expect(page.get_by_test_id("trade-row")).to_have_count(len(earlier_trades))
    expect(chart).to_have_attribute("data-candles", str(len(earlier_trades)))
    expect(chart).to_have_attribute("data-last-close", earlier_trades[-1][0] if earlier_trades else "")

    # sign up: the key is kept in the browser
    expect(page.get_by_test_id("order-submit")).to_have_text("Sign up to trade")
    page.get_by_test_id("sign-up").click()
    user_id = page.get_by_test_id("user-id")
    expect(user_id).to_be_visible()
    stored = page.evaluate("() => JSON.parse(localStorage.getItem('mudra.account'))")
    assert stored["userId"] == user_id.inner_text() and stored["apiKey"]

    # demo deposit
    inr_row = balance(page, "INR")
    expect(inr_row.get_by_test_id("balance-available")).to_have_text("0.00")
    page.get_by_test_id("demo-deposit").click()
    expect(inr_row.get_by_test_id("balance-available")).to_have_text("100,000.00")

    # a limit buy inside the spread rests: open orders, the top of the book and the locked balance show it
    place(page, "buy", "limit", "3", limit_price)
    locked = Decimal(limit_price) * 3
    expect(page.get_by_test_id("order-total")).to_have_text(inr(locked))
    page.get_by_test_id("order-submit").click()
    expect(page.get_by_test_id("order-message")).to_have_text(
        f"Order placed: buy 3 TATA at {limit_price}, resting.")
    expect(inr_row.get_by_test_id("balance-available")).to_have_text(inr(Decimal(100000) - locked))
    expect(inr_row.get_by_test_id("balance-locked")).to_have_text(inr(locked))
    page.get_by_test_id("tab-open").click()
    open_row = page.get_by_test_id("open-order-row")
    expect(open_row).to_have_count(1)
    expect(open_row.get_by_test_id("open-order-price")).to_have_text(limit_price)
    expect(open_row.get_by_test_id("open-order-quantity")).to_have_text("3")
    expect(open_row.get_by_test_id("open-order-side")).to_have_text("buy")
    our_level = book.locator(f'[data-testid="book-bid-row"][data-price="{limit_price}"]')
    expect(our_level).to_have_attribute("data-quantity", "3")
    expect(book.get_by_test_id("book-bid-row").first).to_have_attribute("data-price", limit_price)
    spread = Decimal(best_ask) - Decimal(limit_price)
    expect(page.get_by_test_id("book-spread")).to_contain_text(f"Spread {spread}")
    page.screenshot(path=str(SCREENSHOTS / f"{shots}laptop-open-order.png"), full_page=True)

    # cancel it: gone from open orders and from the book, funds released, in the history as cancelled
    open_row.get_by_test_id("cancel-order").click()
    expect(page.get_by_test_id("open-orders-empty")).to_be_visible()
    expect(our_level).to_have_count(0)
    expect(balance(page, "INR").get_by_test_id("balance-available")).to_have_text("100,000.00")
    page.get_by_test_id("tab-history").click()
    expect(page.get_by_test_id("history-row").first.get_by_test_id("history-status")).to_have_text("cancelled")

    # a rejected order shows the API's error envelope
    place(page, "buy", "limit", "1", "100.001")
    console.expected_400s += 1
    page.get_by_test_id("order-submit").click()
    expect(page.get_by_test_id("order-error")).to_contain_text("(INVALID_PRICE)")

    # a market buy of 2 (the best ask holds at least 2): the quote preview, then the fill at the best ask
    assert get_depth(http)["asks"][0] == [best_ask, best_ask_quantity], "the book moved under the test"
    cost = Decimal(best_ask) * 2
    place(page, "buy", "market", "2")
    preview = page.get_by_test_id("quote-preview")
    expect(preview.get_by_test_id("quote-average")).to_have_text(best_ask)
    expect(preview.get_by_test_id("quote-worst")).to_have_text(best_ask)
    expect(preview.get_by_test_id("quote-total")).to_have_text(f"{inr(cost)} INR")
    expect(preview.get_by_test_id("quote-fillable")).to_have_text("2 TATA")
    page.get_by_test_id("order-submit").click()
    expect(page.get_by_test_id("order-message")).to_have_text(f"Bought 2 TATA for {inr(cost)} INR (filled).")

    # the trade, the ticker, the balances (exactly), the candle (live from kline.1m@M) and the fill
    trades = [*earlier_trades, (best_ask, "2")]
    newest_trade = page.get_by_test_id("trade-row").first
    expect(page.get_by_test_id("trade-row")).to_have_count(len(trades))
    expect(newest_trade.get_by_test_id("trade-price")).to_have_text(best_ask)
    expect(newest_trade.get_by_test_id("trade-quantity")).to_have_text("2")
    expect(page.get_by_test_id("ticker-last")).to_have_text(best_ask)
    expect(page.get_by_test_id("ticker-high")).to_have_text(max(trades, key=lambda t: Decimal(t[0]))[0])
    expect(page.get_by_test_id("ticker-volume")).to_have_text(str(sum(int(q) for _, q in trades)))
    expect(chart).to_have_attribute("data-last-close", best_ask)
    expect(chart).not_to_have_attribute("data-candles", "0")
    inr_row = balance(page, "INR")
    expect(inr_row.get_by_test_id("balance-available")).to_have_text(inr(Decimal(100000) - cost))
    expect(inr_row.get_by_test_id("balance-locked")).to_have_text("0.00")
    expect(page.get_by_test_id("balance-TATA").get_by_test_id("balance-available")).to_have_text("2")
    page.get_by_test_id("tab-fills").click()
    fill = page.get_by_test_id("fill-row")
    expect(fill).to_have_count(1, timeout=10_000)  # the DB writer's lag, then the UI's poll
    expect(fill.get_by_test_id("fill-price")).to_have_text(best_ask)
    expect(fill.get_by_test_id("fill-quantity")).to_have_text("2")
    page.get_by_test_id("tab-history").click()
    history = page.get_by_test_id("history-row")
    expect(history.get_by_test_id("history-status")).to_have_text(["filled", "cancelled"])
    history_ids = [row.get_attribute("data-order-id") for row in history.all()]
    page.get_by_test_id("tab-balances").click()
    page.screenshot(path=str(SCREENSHOTS / f"{shots}laptop-trade.png"), full_page=True)

    # after a reload: still signed in, the same balances, the candle now from GET /klines
    page.reload()
    expect(page.get_by_test_id("user-id")).to_have_text(stored["userId"])
    expect(balance(page, "INR").get_by_test_id("balance-available")).to_have_text(inr(Decimal(100000) - cost))
    expect(chart).to_have_attribute("data-last-close", best_ask)

    # the order history is the server's (GET /orders/history), not this browser's: with nothing but the
    # account left in localStorage, the orders from before the reload are still listed, newest first
    page.evaluate("""() => { const account = localStorage.getItem('mudra.account');
                             localStorage.clear(); localStorage.setItem('mudra.account', account); }""")
    page.reload()
    page.get_by_test_id("tab-history").click()
    expect(history.get_by_test_id("history-status")).to_have_text(["filled", "cancelled"], timeout=10_000)
    assert [row.get_attribute("data-order-id") for row in history.all()] == history_ids

    # a phone: the same account (its key from localStorage), one column, nothing wider than the screen
    phone = browser.new_context(viewport=PHONE, storage_state=context.storage_state(), is_mobile=True,
                                has_touch=True, device_scale_factor=2)
    small = phone.new_page()
    phone_console = ConsoleErrors(small)
    small.goto(f"{site}/trade/?market={MARKET}")
    expect(small.get_by_test_id("user-id")).to_be_visible()
    expect(small.get_by_test_id("order-book")).to_have_attribute("data-synced", "true")
    expect(small.get_by_test_id("trade-row")).to_have_count(len(trades))
    small.get_by_test_id("tab-balances").click()
    expect(small.get_by_test_id("balance-TATA").get_by_test_id("balance-available")).to_have_text("2")
    small.get_by_test_id("tab-history").click()  # another browser: the same history
    expect(small.get_by_test_id("history-row").get_by_test_id("history-status")).to_have_text(
        ["filled", "cancelled"])
    width = small.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px phone"
    small.screenshot(path=str(SCREENSHOTS / f"{shots}phone-trade.png"), full_page=True)

    # sign out forgets the key
    page.get_by_test_id("sign-out").click()
    expect(page.get_by_test_id("sign-up")).to_be_visible()
    assert page.evaluate("() => localStorage.getItem('mudra.account')") is None

    assert console.unexpected() == [], console.messages
    assert phone_console.unexpected() == [], phone_console.messages
    phone.close()
    context.close()
