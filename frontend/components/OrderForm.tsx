'use client';

import { useEffect, useState, type FormEvent } from 'react';

import { useQuote } from '@/hooks/useQuote';
import { describeError } from '@/lib/api';
import { decimalsOf, multiplyDecimal, parseDecimal } from '@/lib/decimal';
import { formatDecimal } from '@/lib/format';
import type { MarketInfo, Order, OrderRequest, OrderType, Side, TimeInForce } from '@/lib/types';

import { useExchange } from './ExchangeProvider';
import { QuotePreview } from './QuotePreview';

interface Props {
  market: MarketInfo;
  place: (request: OrderRequest) => Promise<Order>;
  picked?: { price: string } | null; // a price clicked in the order book
}

type Outcome = { ok: true; text: string } | { ok: false; text: string };

/** The order as the API reports it after matching, in a sentence. */
function describeOrder(order: Order, market: MarketInfo): string {
  const status = order.fillStatus.replace('_', ' ');
  if (parseDecimal(order.executedQuantity)?.units === 0n) {
    if (order.fillStatus === 'new') {
      return `Order placed: ${order.kind} ${formatDecimal(order.quantity)} ${market.base} at ${order.price}, resting.`;
    }
    return `Order ${status}: nothing filled.`;
  }
  const verb = order.kind === 'buy' ? 'Bought' : 'Sold';
  return `${verb} ${formatDecimal(order.executedQuantity)} ${market.base} for ${formatDecimal(order.executedQuoteQuantity)} ${market.quote} (${status}).`;
}

/**
 * Buy or sell, limit or market. The price and quantity go to the API as the text typed (never through a
 * float); the API checks the grid and its error message is shown as it is.
 */
export function OrderForm({ market, place, picked }: Props) {
  const { account, balances } = useExchange();
  const [kind, setKind] = useState<Side>('buy');
  const [type, setType] = useState<OrderType>('limit');
  const [price, setPrice] = useState('');
  const [quantity, setQuantity] = useState('');
  const [timeInForce, setTimeInForce] = useState<TimeInForce>('GTC');
  const [postOnly, setPostOnly] = useState(false);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const quote = useQuote(market.symbol, kind, quantity, type === 'market');
  const decimals = decimalsOf(market.tickSize);

  useEffect(() => {
    if (picked) {
      setPrice(picked.price);
      setType('limit');
    }
  }, [picked]);

  const spendAsset = kind === 'buy' ? market.quote : market.base;
  const available = balances?.[spendAsset]?.available ?? null;
  const total = type === 'limit' && parseDecimal(price) && parseDecimal(quantity)
    ? multiplyDecimal(price.trim(), quantity.trim())
    : null;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const request: OrderRequest = { market: market.symbol, kind, type, quantity: quantity.trim() };
    if (type === 'limit') {
      request.price = price.trim();
      request.timeInForce = timeInForce;
      request.postOnly = postOnly;
    }
    setBusy(true);
    setOutcome(null);
    try {
      setOutcome({ ok: true, text: describeOrder(await place(request), market) });
    } catch (error) {
      setOutcome({ ok: false, text: describeError(error) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel order-form" data-testid="order-form">
      <form onSubmit={(event) => void submit(event)}>
        <div className="segmented wide" role="group" aria-label="side">
          {(['buy', 'sell'] as const).map((value) => (
            <button key={value} type="button" data-testid={`side-${value}`}
              className={value === kind ? `active ${value}` : ''} onClick={() => setKind(value)}>
              {value === 'buy' ? 'Buy' : 'Sell'}
            </button>
          ))}
        </div>
        <div className="segmented" role="group" aria-label="order type">
          {(['limit', 'market'] as const).map((value) => (
            <button key={value} type="button" data-testid={`type-${value}`}
              className={value === type ? 'active' : ''} onClick={() => setType(value)}>
              {value === 'limit' ? 'Limit' : 'Market'}
            </button>
          ))}
        </div>
        {type === 'limit' && (
          <label>
            Price ({market.quote})
            <input data-testid="order-price" inputMode="decimal" autoComplete="off" placeholder={market.tickSize}
              value={price} onChange={(e) => setPrice(e.target.value)} />
          </label>
        )}
        <label>
          Quantity ({market.base})
          <input data-testid="order-quantity" inputMode="decimal" autoComplete="off" placeholder={market.minQuantity}
            value={quantity} onChange={(e) => setQuantity(e.target.value)} />
        </label>
        {type === 'limit' && (
          <div className="options">
            <label className="inline">
              Time in force
              <select data-testid="order-tif" value={timeInForce}
                onChange={(e) => setTimeInForce(e.target.value as TimeInForce)}>
                <option value="GTC">GTC</option>
                <option value="IOC">IOC</option>
                <option value="FOK">FOK</option>
              </select>
            </label>
            <label className="inline">
              <input type="checkbox" data-testid="order-post-only" checked={postOnly}
                onChange={(e) => setPostOnly(e.target.checked)} />
              Post only
            </label>
          </div>
        )}
        <p className="muted small">
          Available: <span data-testid="order-available">{formatDecimal(available)}</span> {spendAsset}
          {total && (
            <>
              {' · '}Total: <span data-testid="order-total">{formatDecimal(total)}</span> {market.quote}
            </>
          )}
        </p>
        {type === 'market' && <QuotePreview market={market} state={quote} decimals={decimals} />}
        <button type="submit" data-testid="order-submit" className={`submit ${kind}`} disabled={busy || !account}>
          {account ? `${kind === 'buy' ? 'Buy' : 'Sell'} ${market.base}` : 'Sign up to trade'}
        </button>
        {outcome && (
          <p className={outcome.ok ? 'result ok' : 'result error'} role={outcome.ok ? 'status' : 'alert'}
            data-testid={outcome.ok ? 'order-message' : 'order-error'}>
            {outcome.text}
          </p>
        )}
      </form>
    </section>
  );
}
