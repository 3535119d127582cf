'use client';

import { useState } from 'react';

import type { AccountOrders } from '@/hooks/useAccountOrders';
import type { MarketInfo } from '@/lib/types';

import { BalancesTable } from './BalancesTable';
import { useExchange } from './ExchangeProvider';
import { FillsTable } from './FillsTable';
import { OpenOrders } from './OpenOrders';
import { OrderHistory } from './OrderHistory';

const TABS = [
  ['open', 'Open orders'],
  ['history', 'Order history'],
  ['fills', 'Fills'],
  ['balances', 'Balances'],
] as const;
type Tab = (typeof TABS)[number][0];

/** The signed-in user's side of the page: open orders, order history, fills and balances. */
export function AccountTabs({ market, orders }: { market: MarketInfo; orders: AccountOrders }) {
  const { account } = useExchange();
  const [tab, setTab] = useState<Tab>('open');
  return (
    <section className="panel account" data-testid="account-panel">
      <div className="tabs" role="tablist">
        {TABS.map(([value, label]) => (
          <button key={value} type="button" role="tab" aria-selected={tab === value}
            className={tab === value ? 'active' : ''} data-testid={`tab-${value}`} onClick={() => setTab(value)}>
            {label}
            {value === 'open' && orders.openOrders.length > 0 && ` (${orders.openOrders.length})`}
          </button>
        ))}
      </div>
      {!account ? (
        <p className="muted empty">Sign up to trade: the API key is kept in this browser.</p>
      ) : tab === 'open' ? (
        <OpenOrders market={market} orders={orders.openOrders} cancel={orders.cancel} cancelAll={orders.cancelAll} />
      ) : tab === 'history' ? (
        <OrderHistory market={market} orders={orders.history} />
      ) : tab === 'fills' ? (
        <FillsTable market={market} fills={orders.fills} />
      ) : (
        <BalancesTable />
      )}
    </section>
  );
}
