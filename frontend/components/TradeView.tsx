'use client';

import { useState } from 'react';

import { useAccountOrders } from '@/hooks/useAccountOrders';
import { useOrderBook } from '@/hooks/useMarketData';

import { AccountTabs } from './AccountTabs';
import { useExchange } from './ExchangeProvider';
import { OrderBook } from './OrderBook';
import { OrderForm } from './OrderForm';
import { PriceChart } from './PriceChart';
import { RecentTrades } from './RecentTrades';
import { TickerBar } from './TickerBar';

/** The trading page of one market. */
export function TradeView({ symbol }: { symbol: string }) {
  const { markets } = useExchange();
  const market = markets.find((m) => m.symbol === symbol);
  const bookState = useOrderBook(symbol);
  const orders = useAccountOrders(symbol);
  const [picked, setPicked] = useState<{ price: string } | null>(null); // a new object per click
  if (!markets.length) return <p className="loading">Loading…</p>;
  if (!market) return <p className="panel">Unknown market {symbol}.</p>;
  return (
    <div className="trade-layout" data-testid="trade-page">
      <TickerBar market={market} />
      <PriceChart market={market} />
      <OrderBook market={market} state={bookState} onPickPrice={(price) => setPicked({ price })} />
      <RecentTrades market={market} />
      <OrderForm market={market} place={orders.place} picked={picked} />
      <AccountTabs market={market} orders={orders} />
    </div>
  );
}
