"""The maker's and the taker's accounts: API keys kept in the state file, sign-up, and demo funding.

The state file (``MM_STATE_FILE``) maps an API URL and a role (``maker``, ``taker``) to the user id and
API key, so a restart trades as the same user and finds its own open orders. A stored key the exchange
no longer knows (a fresh database) is replaced by a new sign-up. The file is written atomically and
readable by its owner only: it holds secrets.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from market_maker.client import ApiError, Backoff, RestClient, Unavailable
from shared.markets import Asset
from shared.money import parse_decimal

log = logging.getLogger("market_maker")

#: Seconds between attempts when the exchange refuses sign-up or deposits (403): a setting, not a glitch.
FORBIDDEN_RETRY_S = 60.0


class StateFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, Any]:
        try:
            data = orjson.loads(self.path.read_bytes())
        except FileNotFoundError:
            return {}
        except (OSError, orjson.JSONDecodeError) as exc:
            log.warning("state file %s unreadable (%s): starting with new accounts", self.path, exc)
            return {}
        return data if isinstance(data, dict) else {}

    def load(self, api_url: str, role: str) -> dict[str, str] | None:
        entry = self._read().get("accounts", {}).get(api_url, {}).get(role)
        if isinstance(entry, dict) and isinstance(entry.get("apiKey"), str):
            return entry
        return None

    def save(self, api_url: str, role: str, user_id: str, api_key: str) -> None:
        data = self._read()
        accounts = data.setdefault("accounts", {})
        accounts.setdefault(api_url, {})[role] = {"userId": user_id, "apiKey": api_key}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".mm-state-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(orjson.dumps(data, option=orjson.OPT_INDENT_2))
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


async def ensure_account(rest: RestClient, role: str, state: StateFile, preset_key: str | None,
                         backoff: Backoff) -> str:
    """Give ``rest`` a working API key (preset, stored, or a new sign-up); answer the user id."""
    if preset_key:
        rest.api_key = preset_key
        await retrying(rest.balances, backoff, f"{role}: checking the preset API key")
        return "(preset key)"
    stored = state.load(rest.base_url, role)
    if stored is not None:
        rest.api_key = stored["apiKey"]
        try:
            await retrying(rest.balances, backoff, f"{role}: checking the stored API key")
            log.info("%s: trading as %s (from %s)", role, stored.get("userId"), state.path)
            return stored.get("userId", "?")
        except ApiError as exc:
            if exc.status != 401:
                raise
            log.warning("%s: the exchange does not know the stored key of %s (a fresh database?): "
                        "signing up again", role, stored.get("userId"))
    while True:
        try:
            reply = await retrying(rest.sign_up, backoff, f"{role}: signing up")
            break
        except ApiError as exc:
            if exc.code != "FORBIDDEN":
                raise
            log.error("%s: sign-up is switched off on this exchange (403 FORBIDDEN): set MM_%sAPI_KEY to "
                      "an existing account's key; retrying in %.0f s", role,
                      "TAKER_" if role == "taker" else "", FORBIDDEN_RETRY_S)
            await asyncio.sleep(FORBIDDEN_RETRY_S)
    rest.api_key = reply["apiKey"]
    state.save(rest.base_url, role, reply["userId"], reply["apiKey"])
    log.info("%s: signed up as %s (key kept in %s)", role, reply["userId"], state.path)
    return reply["userId"]


def totals(balances: Mapping[str, Mapping[str, str]], assets: Mapping[str, Asset]) -> dict[str, int]:
    """Available + locked of every asset, in minor units."""
    result = {}
    for symbol, asset in assets.items():
        entry = balances.get(symbol, {})
        result[symbol] = minor(entry.get("available", "0"), asset) + minor(entry.get("locked", "0"), asset)
    return result


def available(balances: Mapping[str, Mapping[str, str]], assets: Mapping[str, Asset]) -> dict[str, int]:
    """The available amount of every asset, in minor units."""
    return {symbol: minor(balances.get(symbol, {}).get("available", "0"), asset)
            for symbol, asset in assets.items()}


def minor(text: object, asset: Asset) -> int:
    """An amount string -> the asset's minor units, exactly ("0" is 0)."""
    return 0 if parse_decimal(text) == 0 else asset.parse_amount(text)


def deposits_needed(targets: Mapping[str, int], held: Mapping[str, int],
                    threshold_pct: int) -> dict[str, int]:
    """What to deposit (minor units) to bring each asset below ``threshold_pct``% of its target back up."""
    return {asset: target - held.get(asset, 0) for asset, target in targets.items()
            if held.get(asset, 0) * 100 < target * threshold_pct}


async def fund(rest: RestClient, role: str, targets: Mapping[str, int], threshold_pct: int,
               assets: Mapping[str, Asset], backoff: Backoff) -> dict[str, int]:
    """Top the account up by POST /deposit where needed; answer the holdings after it.

    A deposit is not idempotent, so one that fails for a transient reason is not simply sent again: the
    balances are read afresh and what is still missing is deposited (a deposit that timed out but got
    through later can still double up: paper money, harmless). Deposits switched off (403) are logged
    loudly and not retried here: the caller trades with what it has and calls again later.
    """
    while True:
        held = totals(await retrying(rest.balances, backoff, f"{role}: reading balances"), assets)
        try:
            for asset, amount in deposits_needed(targets, held, threshold_pct).items():
                text = assets[asset].format(amount)
                await rest.deposit(asset, text)
                log.info("%s: deposited %s %s", role, text, asset)
                held[asset] = held.get(asset, 0) + amount
            return held
        except Unavailable as exc:
            delay = backoff.next(exc.retry_after)
            log.warning("%s: deposit: %s; re-reading balances in %.1f s", role, exc, delay)
            await asyncio.sleep(delay)
        except ApiError as exc:
            if exc.code != "FORBIDDEN":
                raise
            log.error("%s: deposits are switched off on this exchange (403 FORBIDDEN): cannot fund the "
                      "account; trading with what it holds and asking again in %.0f s", role,
                      FORBIDDEN_RETRY_S)
            return held


async def retrying(call: Any, backoff: Backoff, what: str) -> Any:
    """``await call()`` until it is not Unavailable (ApiError passes through), with backoff."""
    while True:
        try:
            result = await call()
        except Unavailable as exc:
            delay = backoff.next(exc.retry_after)
            if backoff.failures in (1, 4) or backoff.failures % 20 == 0:
                log.warning("%s: %s; retrying in %.1f s", what, exc, delay)
            await asyncio.sleep(delay)
            continue
        backoff.reset()
        return result
