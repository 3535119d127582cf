'use client';

import { decimalsOf } from '@/lib/decimal';
import { formatDateTime, formatDecimal } from '@/lib/format';
import type { MarketInfo, UserFill } from '@/lib/types';

/** The user's fills in this market (GET /fills; written by the DB writer, so up to ~2 s behind). */
export function FillsTable({ market, fills }: { market: MarketInfo; fills: UserFill[] }) {
  const decimals = decimalsOf(market.tickSize);
  if (!fills.length) return <p className="muted empty">No fills yet.</p>;
  return (
    <div className="scroll-x">
      <table className="table" data-testid="fills">
        <thead>
          <tr>
            <th>Time</th>
            <th>Side</th>
            <th className="num">Price</th>
            <th className="num">Quantity</th>
            <th className="num hide-narrow">Fee</th>
            <th>Role</th>
          </tr>
        </thead>
        <tbody>
          {fills.map((fill) => (
            <tr key={`${fill.tradeId}-${fill.liquidity}`} data-testid="fill-row">
              <td className="muted">{formatDateTime(fill.time)}</td>
              <td className={fill.kind === 'buy' ? 'up' : 'down'}>{fill.kind}</td>
              <td className="num" data-testid="fill-price">
                {formatDecimal(fill.price, decimals)}
              </td>
              <td className="num" data-testid="fill-quantity">
                {formatDecimal(fill.quantity)}
              </td>
              <td className="num hide-narrow">{formatDecimal(fill.fee)}</td>
              <td>{fill.liquidity}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
