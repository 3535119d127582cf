'use client';

import { decimalsOf } from '@/lib/decimal';
import { formatDateTime, formatDecimal } from '@/lib/format';
import type { MarketInfo, Order } from '@/lib/types';

interface Props {
  market: MarketInfo;
  orders: Order[];
  cancel: (orderId: string) => Promise<void>;
  cancelAll: () => Promise<void>;
}

export function OpenOrders({ market, orders, cancel, cancelAll }: Props) {
  const decimals = decimalsOf(market.tickSize);
  if (!orders.length) return <p className="muted empty" data-testid="open-orders-empty">No open orders.</p>;
  return (
    <div className="scroll-x">
      <table className="table" data-testid="open-orders">
        <thead>
          <tr>
            <th>Time</th>
            <th>Side</th>
            <th className="num">Price</th>
            <th className="num">Quantity</th>
            <th className="num">Filled</th>
            <th className="hide-narrow">Options</th>
            <th className="num">
              <button type="button" className="link" data-testid="cancel-all" onClick={() => void cancelAll()}>
                Cancel all
              </button>
            </th>
          </tr>
        </thead>
        <tbody>
          {orders.map((order) => (
            <tr key={order.orderId} data-testid="open-order-row" data-order-id={order.orderId}>
              <td className="muted">{formatDateTime(order.createdAt)}</td>
              <td className={order.kind === 'buy' ? 'up' : 'down'} data-testid="open-order-side">
                {order.kind}
              </td>
              <td className="num" data-testid="open-order-price">
                {formatDecimal(order.price, decimals)}
              </td>
              <td className="num" data-testid="open-order-quantity">
                {formatDecimal(order.quantity)}
              </td>
              <td className="num">{formatDecimal(order.executedQuantity)}</td>
              <td className="hide-narrow muted">
                {order.timeInForce}
                {order.postOnly ? ' · post only' : ''}
              </td>
              <td className="num">
                <button type="button" className="link" data-testid="cancel-order" onClick={() => void cancel(order.orderId)}>
                  Cancel
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
