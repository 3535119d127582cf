"""The engine service's configuration, read from the environment once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from shared.config import CommonConfig, ConfigError, env_int, load_common
from shared.markets import MarketsConfig, MarketsFileError


@dataclass(frozen=True, slots=True)
class EngineConfig:
    common: CommonConfig
    markets: MarketsConfig  # the markets this shard owns
    shard: str  # "all", or the owned markets sorted and joined by ","
    batch_size: int  # requests taken per Redis round trip at most
    snapshot_every_s: int  # seconds between snapshots (while busy)
    events_maxlen: int  # cap of the DB events stream (approximate), so an absent writer cannot fill Redis
    depth_levels: int  # levels per side in the depth key: all of them, so a replica built from it is whole


def load_config(environ: Mapping[str, str] | None = None) -> EngineConfig:
    env = os.environ if environ is None else environ
    common = load_common(env)
    raw = env.get("ENGINE_MARKETS", "").strip()
    if raw:
        names = sorted({name.strip() for name in raw.split(",") if name.strip()})
        try:
            markets = common.markets.subset(names)
        except MarketsFileError as exc:
            raise ConfigError(f"ENGINE_MARKETS: {exc}") from exc
        shard = ",".join(names) if len(names) < len(common.markets.markets) else "all"
    else:
        markets = common.markets
        shard = "all"
    return EngineConfig(
        common=common,
        markets=markets,
        shard=shard,
        batch_size=env_int(env, "ENGINE_BATCH_SIZE", 512, minimum=1, maximum=5000),
        snapshot_every_s=env_int(env, "ENGINE_SNAPSHOT_SECONDS", 30, minimum=1),
        events_maxlen=env_int(env, "ENGINE_EVENTS_MAXLEN", 1_000_000, minimum=1000),
        depth_levels=10**12,
    )
