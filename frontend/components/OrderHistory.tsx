'use client';

import { decimalsOf } from '@/lib/decimal';
import { formatDateTime, formatDecimal } from '@/lib/format';
import type { MarketInfo, Order } from '@/lib/types';

/** The user's closed orders in this market (GET /orders/history and what this page saw since), newest first. */
export function OrderHistory({ market, orders }: { market: MarketInfo; orders: Order[] }) {
  const decimals = decimalsOf(market.tickSize);
  if (!orders.length) return <p className="muted empty">No closed orders yet.</p>;
  return (
    <div className="scroll-x">
      <table className="table" data-testid="order-history">
        <thead>
          <tr>
            <th>Time</th>
            <th>Side</th>
            <th>Type</th>
            <th className="num">Price</th>
            <th className="num">Quantity</th>
            <th className="num">Filled</th>
            <th className="num hide-narrow">Value ({market.quote})</th>
            <th>Status</th>
          </tr>
        </thead>
        <tbody>
          {orders.map((order) => (
            <tr key={order.orderId} data-testid="history-row" data-order-id={order.orderId}>
              <td className="muted">{formatDateTime(order.createdAt)}</td>
              <td className={order.kind === 'buy' ? 'up' : 'down'}>{order.kind}</td>
              <td>{order.type}</td>
              <td className="num">{order.price === null ? 'market' : formatDecimal(order.price, decimals)}</td>
              <td className="num">{formatDecimal(order.quantity)}</td>
              <td className="num">{formatDecimal(order.executedQuantity)}</td>
              <td className="num hide-narrow">{formatDecimal(order.executedQuoteQuantity)}</td>
              <td data-testid="history-status">{order.fillStatus.replace('_', ' ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
