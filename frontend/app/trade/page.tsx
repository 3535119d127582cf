'use client';

import { useSearchParams } from 'next/navigation';
import { Suspense } from 'react';

import { TradeView } from '@/components/TradeView';

/** `/trade/?market=TATA-INR`: a query parameter, so one exported page serves every market. */
function TradeRoute() {
  const market = useSearchParams().get('market') ?? 'TATA-INR';
  return <TradeView key={market} symbol={market} />;
}

export default function TradePage() {
  return (
    <Suspense fallback={<p className="loading">Loading…</p>}>
      <TradeRoute />
    </Suspense>
  );
}
