"""The baseline of bench/e2e_bench.py: a bare FastAPI app with one POST endpoint taking a pydantic body.

``POST /bench`` validates the same JSON body as ``POST /api/v1/order`` with a pydantic model and returns
it (re-serialised by FastAPI). Nothing else: no auth, no Redis, no engine. e2e_bench.py serves it the way
``python -m api`` is served: uvicorn, one worker, uvloop, httptools, no access log.

Run by hand: .venv/bin/python -m uvicorn --app-dir bench baseline_app:app --loop uvloop --http httptools \
    --no-access-log --port 8001
"""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel


class OrderBody(BaseModel):
    market: str
    kind: str
    type: str
    price: str | None = None
    quantity: str
    timeInForce: str = "GTC"
    postOnly: bool = False
    clientOrderId: str | None = None


app = FastAPI()


@app.post("/bench")
async def echo(body: OrderBody) -> OrderBody:
    return body
