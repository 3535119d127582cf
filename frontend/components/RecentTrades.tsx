'use client';

import { useTrades } from '@/hooks/useMarketData';
import { decimalsOf } from '@/lib/decimal';
import { formatDecimal, formatTime } from '@/lib/format';
import type { MarketInfo } from '@/lib/types';

/** The market's newest trades, live from `trade@M`; a sell-initiated trade (buyer was maker) in red. */
export function RecentTrades({ market }: { market: MarketInfo }) {
  const trades = useTrades(market.symbol);
  const decimals = decimalsOf(market.tickSize);
  return (
    <section className="panel trades" data-testid="recent-trades">
      <h2>Recent trades</h2>
      <table className="table compact">
        <thead>
          <tr>
            <th className="num">Price ({market.quote})</th>
            <th className="num">Qty ({market.base})</th>
            <th className="num">Time</th>
          </tr>
        </thead>
        <tbody>
          {trades.map((trade) => (
            <tr key={trade.tradeId} data-testid="trade-row">
              <td className={`num ${trade.isBuyerMaker ? 'down' : 'up'}`} data-testid="trade-price">
                {formatDecimal(trade.price, decimals)}
              </td>
              <td className="num" data-testid="trade-quantity">
                {formatDecimal(trade.quantity)}
              </td>
              <td className="num muted">{formatTime(trade.time)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!trades.length && <p className="muted empty">No trades yet.</p>}
    </section>
  );
}
