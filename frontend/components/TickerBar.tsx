'use client';

import { useTicker } from '@/hooks/useMarketData';
import { decimalsOf } from '@/lib/decimal';
import { direction, formatDecimal, formatPercent, formatSigned } from '@/lib/format';
import type { MarketInfo } from '@/lib/types';

/** Last price, 24 h change, high, low and volume of one market, live from `ticker@M`. */
export function TickerBar({ market }: { market: MarketInfo }) {
  const ticker = useTicker(market.symbol);
  const decimals = decimalsOf(market.tickSize);
  const trend = direction(ticker?.priceChange);
  return (
    <section className="panel ticker-bar" data-testid="ticker">
      <h1>
        {market.base}
        <span className="muted">/{market.quote}</span>
      </h1>
      <div className={`ticker-last ${trend}`} data-testid="ticker-last">
        {formatDecimal(ticker?.lastPrice, decimals)}
      </div>
      <dl>
        <div>
          <dt>24h change</dt>
          <dd className={trend} data-testid="ticker-change">
            {ticker?.priceChange
              ? `${formatSigned(ticker.priceChange, decimals)} ${formatPercent(ticker.priceChangePercent)}`
              : formatSigned(null)}
          </dd>
        </div>
        <div>
          <dt>24h high</dt>
          <dd data-testid="ticker-high">{formatDecimal(ticker?.high, decimals)}</dd>
        </div>
        <div>
          <dt>24h low</dt>
          <dd data-testid="ticker-low">{formatDecimal(ticker?.low, decimals)}</dd>
        </div>
        <div>
          <dt>24h volume ({market.base})</dt>
          <dd data-testid="ticker-volume">{formatDecimal(ticker?.volume)}</dd>
        </div>
        <div className="hide-narrow">
          <dt>24h volume ({market.quote})</dt>
          <dd>{formatDecimal(ticker?.quoteVolume)}</dd>
        </div>
      </dl>
    </section>
  );
}
