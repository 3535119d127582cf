"""What the routes share for the life of the process: configuration, Redis, the engine client, users."""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from redis.asyncio import Redis

from api.auth import AuthStore
from api.config import ApiConfig
from api.engine_client import EngineClient
from api.ratelimit import RateLimiter
from shared.keys import Keys
from shared.markets import MarketsConfig


@dataclass(slots=True)
class Services:
    config: ApiConfig
    markets: MarketsConfig
    keys: Keys
    redis: Redis
    engine: EngineClient
    auth: AuthStore
    limiter: RateLimiter
    markets_body: bytes  # GET /markets, encoded once: the markets file does not change while running

    @classmethod
    async def start(cls, config: ApiConfig) -> Services:
        common = config.common
        keys = Keys(common.namespace)
        redis = Redis.from_url(common.redis_url)
        engine = EngineClient(redis, common.redis_url, keys, config.engine_timeout_ms, common.markets)
        try:
            auth = await AuthStore.open(common.database_url)
        except BaseException:
            await redis.aclose()
            raise
        await engine.start()
        limiter = RateLimiter(config.rate_limit_per_minute)
        markets_body = orjson.dumps([market.to_public() for market in common.markets.markets.values()])
        return cls(config, common.markets, keys, redis, engine, auth, limiter, markets_body)

    async def close(self) -> None:
        await self.engine.close()
        await self.auth.close()
        await self.redis.aclose()
