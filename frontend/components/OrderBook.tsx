'use client';

import type { CSSProperties } from 'react';

import type { BookState } from '@/hooks/useMarketData';
import { decimalsOf } from '@/lib/decimal';
import { formatDecimal } from '@/lib/format';
import { depthRows, depthScale, spread, type DepthRow } from '@/lib/orderbook';
import type { MarketInfo } from '@/lib/types';

const LEVELS_SHOWN = 12;

interface Props {
  market: MarketInfo;
  state: BookState;
  onPickPrice?: (price: string) => void;
}

/** The live book (`depth@M`): asks above, bids below, cumulative depth bars and the spread between. */
export function OrderBook({ market, state, onPickPrice }: Props) {
  const { book } = state;
  const decimals = decimalsOf(market.tickSize);
  if (!book) {
    return (
      <section className="panel book" data-testid="order-book" data-synced="false">
        <h2>Order book</h2>
        <p className="muted empty">Syncing…</p>
      </section>
    );
  }
  const scale = depthScale(book, LEVELS_SHOWN);
  const asks = depthRows(book.asks, LEVELS_SHOWN, scale).reverse();
  const bids = depthRows(book.bids, LEVELS_SHOWN, scale);
  const gap = spread(book);
  const row = (side: 'ask' | 'bid') => (level: DepthRow) => (
    <tr
      key={level.price}
      className={`book-row ${side}`}
      data-testid={`book-${side}-row`}
      data-price={level.price}
      data-quantity={level.quantity}
      style={{ '--depth': `${(level.share * 100).toFixed(1)}%` } as CSSProperties}
      onClick={() => onPickPrice?.(level.price)}
    >
      <td className={`num ${side === 'ask' ? 'down' : 'up'}`}>{formatDecimal(level.price, decimals)}</td>
      <td className="num">{formatDecimal(level.quantity)}</td>
      <td className="num muted hide-narrow">{formatDecimal(level.total)}</td>
    </tr>
  );
  return (
    <section className="panel book" data-testid="order-book" data-synced="true" data-sequence={book.sequence}>
      <h2>Order book</h2>
      <table className="table compact">
        <thead>
          <tr>
            <th className="num">Price ({market.quote})</th>
            <th className="num">Qty ({market.base})</th>
            <th className="num hide-narrow">Total</th>
          </tr>
        </thead>
        <tbody className="asks">{asks.map(row('ask'))}</tbody>
        <tbody>
          <tr className="spread-row">
            <td colSpan={3} data-testid="book-spread">
              {gap ? (
                <>
                  Spread {formatDecimal(gap.absolute, decimals)}{' '}
                  <span className="muted">
                    ({((Number(gap.absolute) / Number(gap.bestAsk)) * 100).toFixed(2)}%)
                  </span>
                </>
              ) : (
                <span className="muted">Spread –</span>
              )}
            </td>
          </tr>
        </tbody>
        <tbody className="bids">{bids.map(row('bid'))}</tbody>
      </table>
    </section>
  );
}
