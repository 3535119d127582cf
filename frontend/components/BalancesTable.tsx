'use client';

import { formatDecimal } from '@/lib/format';

import { useExchange } from './ExchangeProvider';

/** Every asset's available and locked balance (GET /balances, refreshed after each order change). */
export function BalancesTable() {
  const { balances } = useExchange();
  if (!balances) return <p className="muted empty">Loading balances…</p>;
  return (
    <table className="table" data-testid="balances">
      <thead>
        <tr>
          <th>Asset</th>
          <th className="num">Available</th>
          <th className="num">Locked</th>
        </tr>
      </thead>
      <tbody>
        {Object.entries(balances).map(([asset, balance]) => (
          <tr key={asset} data-testid={`balance-${asset}`}>
            <td>{asset}</td>
            <td className="num" data-testid="balance-available">
              {formatDecimal(balance.available)}
            </td>
            <td className="num" data-testid="balance-locked">
              {formatDecimal(balance.locked)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
