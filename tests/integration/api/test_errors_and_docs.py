"""Unknown routes and methods answer the envelope too; the OpenAPI document and /docs are served."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.api.conftest import error_code


@pytest.mark.asyncio
async def test_unknown_route_is_a_404_envelope(client: httpx.AsyncClient) -> None:
    for path in ("/nope", "/order/TATA-INR-1/fills", "/"):
        response = await client.get(path)
        assert response.status_code == 404
        assert error_code(response) == "NOT_FOUND"
    outside = await client.get("http://test/elsewhere")
    assert outside.status_code == 404 and error_code(outside) == "NOT_FOUND"


@pytest.mark.asyncio
async def test_wrong_method_is_a_405_envelope(client: httpx.AsyncClient) -> None:
    for method, path in [("PUT", "/users"), ("GET", "/users"), ("POST", "/markets"), ("PATCH", "/order/X-1"),
                         ("DELETE", "/deposit"), ("PUT", "/orders")]:
        response = await client.request(method, path)
        assert response.status_code == 405, (method, path)
        assert error_code(response) == "METHOD_NOT_ALLOWED"
        assert response.headers.get("allow")


@pytest.mark.asyncio
async def test_openapi_document_and_docs_are_served(client: httpx.AsyncClient) -> None:
    document = (await client.get("http://test/openapi.json")).json()
    paths = document["paths"]
    for path in ("/users", "/deposit", "/balances", "/order", "/order/{orderId}", "/orders", "/order/quote",
                 "/markets", "/depth", "/trades", "/ticker", "/tickers", "/klines", "/fills", "/health"):
        assert f"/api/v1{path}" in paths, path
    for operations in paths.values():
        for operation in operations.values():
            assert "422" not in operation["responses"]  # validation errors are 400 envelopes here
    place = paths["/api/v1/order"]["post"]
    schema = place["requestBody"]["content"]["application/json"]["schema"]
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {"market", "kind", "type", "price", "quantity", "timeInForce",
                                         "postOnly", "clientOrderId"}
    assert place["responses"]["201"]
    assert "HTTPBearer" in document["components"]["securitySchemes"]
    docs = await client.get("http://test/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
