'use client';

import Link from 'next/link';

import { useTickers } from '@/hooks/useMarketData';
import { decimalsOf } from '@/lib/decimal';
import { direction, formatDecimal, formatPercent } from '@/lib/format';

import { useExchange } from './ExchangeProvider';

/** Every market with its last price and 24 h change, live; a row opens the market's trading page. */
export function MarketsTable() {
  const { markets } = useExchange();
  const tickers = useTickers(markets.map((m) => m.symbol));
  if (!markets.length) return <p className="muted">Loading markets…</p>;
  return (
    <table className="table markets" data-testid="markets-table">
      <thead>
        <tr>
          <th>Market</th>
          <th className="num">Last price</th>
          <th className="num">24h change</th>
          <th className="num hide-narrow">24h high</th>
          <th className="num hide-narrow">24h low</th>
          <th className="num hide-narrow">24h volume</th>
        </tr>
      </thead>
      <tbody>
        {markets.map((market) => {
          const ticker = tickers[market.symbol];
          const decimals = decimalsOf(market.tickSize);
          const href = `/trade/?market=${encodeURIComponent(market.symbol)}`;
          return (
            <tr key={market.symbol} data-testid={`market-row-${market.symbol}`}>
              <td>
                <Link href={href} data-testid={`market-link-${market.symbol}`}>
                  <strong>{market.base}</strong>
                  <span className="muted">/{market.quote}</span>
                </Link>
              </td>
              <td className="num" data-testid="market-last">
                {formatDecimal(ticker?.lastPrice, decimals)}
              </td>
              <td className={`num ${direction(ticker?.priceChange)}`} data-testid="market-change">
                {formatPercent(ticker?.priceChangePercent)}
              </td>
              <td className="num hide-narrow">{formatDecimal(ticker?.high, decimals)}</td>
              <td className="num hide-narrow">{formatDecimal(ticker?.low, decimals)}</td>
              <td className="num hide-narrow">{formatDecimal(ticker?.volume)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
