"""Request and response models for the OpenAPI document (/openapi.json, /docs).

They document the contract; they do not parse or render anything: request bodies are read exactly
by api/body.py and api/validation.py, and replies are the engine's or Redis's bytes as they are.
Decimal fields carry an explicit pattern so that the published schema matches what the API accepts.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, WithJsonSchema

DECIMAL_PATTERN = r"^[0-9]{1,40}(\.[0-9]{1,40})?$"
_DECIMAL_OUT = {"type": "string", "pattern": DECIMAL_PATTERN, "examples": ["101.50"]}
_DECIMAL_IN = {"anyOf": [{"type": "string", "pattern": DECIMAL_PATTERN},
                         {"type": "number", "exclusiveMinimum": 0}],
               "examples": ["101.50"]}

DecimalOut = Annotated[str, WithJsonSchema(_DECIMAL_OUT)]
DecimalIn = Annotated[Any, WithJsonSchema(_DECIMAL_IN)]
ClientOrderId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,36}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------ requests


class PlaceOrderRequest(_Strict):
    market: str = Field(examples=["TATA-INR"])
    kind: Literal["buy", "sell"]
    type: Literal["limit", "market"]
    price: DecimalIn | None = Field(default=None, description="limit orders only")
    quantity: DecimalIn
    timeInForce: Literal["GTC", "IOC", "FOK"] | None = Field(default=None, description="limit only; GTC")
    postOnly: bool | None = Field(default=None, description="limit only; default false")
    clientOrderId: ClientOrderId | None = None


class QuoteRequest(_Strict):
    market: str = Field(examples=["TATA-INR"])
    kind: Literal["buy", "sell"]
    quantity: DecimalIn


class DepositRequest(_Strict):
    asset: str = Field(examples=["INR"])
    amount: DecimalIn


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting ``model`` as the JSON request body of a route that reads it itself."""
    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": model.model_json_schema()}}}}


# ------------------------------------------------------------------ responses


class ErrorBody(BaseModel):
    code: str = Field(examples=["INSUFFICIENT_BALANCE"])
    message: str
    orderId: str | None = Field(default=None, description="DUPLICATE_CLIENT_ORDER_ID only")


class ErrorEnvelope(BaseModel):
    error: ErrorBody


class SignUp(BaseModel):
    userId: str
    apiKey: str


class Balance(BaseModel):
    available: DecimalOut
    locked: DecimalOut


class Balances(RootModel[dict[str, Balance]]):
    pass


class Fill(BaseModel):
    tradeId: str
    price: DecimalOut
    quantity: DecimalOut


class Order(BaseModel):
    orderId: str = Field(examples=["TATA-INR-1042"])
    clientOrderId: str | None
    market: str
    kind: Literal["buy", "sell"]
    type: Literal["limit", "market"]
    price: DecimalOut | None
    quantity: DecimalOut
    executedQuantity: DecimalOut
    executedQuoteQuantity: DecimalOut
    fillStatus: Literal["new", "partially_filled", "filled", "cancelled", "expired"]
    timeInForce: Literal["GTC", "IOC", "FOK"]
    postOnly: bool
    createdAt: int
    fills: list[Fill]


class Quote(BaseModel):
    market: str
    kind: Literal["buy", "sell"]
    quantity: DecimalOut
    fillableQuantity: DecimalOut
    averagePrice: DecimalOut | None
    worstPrice: DecimalOut | None
    quoteQuantity: DecimalOut
    fullyFillable: bool


class MarketInfo(BaseModel):
    symbol: str
    base: str
    quote: str
    tickSize: DecimalOut
    lotSize: DecimalOut
    minQuantity: DecimalOut


class Depth(BaseModel):
    market: str
    sequence: int
    bids: list[tuple[DecimalOut, DecimalOut]]
    asks: list[tuple[DecimalOut, DecimalOut]]


class Trade(BaseModel):
    tradeId: str
    price: DecimalOut
    quantity: DecimalOut
    quoteQuantity: DecimalOut
    time: int
    isBuyerMaker: bool


class Ticker(BaseModel):
    market: str
    lastPrice: DecimalOut | None
    open: DecimalOut | None
    high: DecimalOut | None
    low: DecimalOut | None
    volume: DecimalOut
    quoteVolume: DecimalOut
    priceChange: str | None
    priceChangePercent: str | None
    bestBid: DecimalOut | None
    bestAsk: DecimalOut | None
    trades: int
    time: int


class Kline(BaseModel):
    openTime: int
    closeTime: int = Field(description="openTime + interval - 1 ms")
    open: DecimalOut
    high: DecimalOut
    low: DecimalOut
    close: DecimalOut
    volume: DecimalOut
    quoteVolume: DecimalOut
    trades: int


class UserFill(BaseModel):
    tradeId: str
    orderId: str
    market: str
    kind: Literal["buy", "sell"]
    price: DecimalOut
    quantity: DecimalOut
    fee: DecimalOut = Field(description='no fees in v1: always "0"')
    time: int
    liquidity: Literal["maker", "taker"]


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    engine: Literal["up", "down"]


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` documenting the error envelope for each status."""
    return {status: {"model": ErrorEnvelope} for status in statuses}
