'use client';

import Link from 'next/link';

import { AccountBar } from './AccountBar';
import { useExchange } from './ExchangeProvider';

export function Header() {
  const { socketStatus, notice, setNotice } = useExchange();
  return (
    <>
      <header className="site-header">
        <Link href="/" className="brand">
          E-Mudra-Bajar
        </Link>
        <nav>
          <Link href="/">Markets</Link>
        </nav>
        <span className={`live live-${socketStatus}`} data-testid="socket-status" title="market data connection">
          {socketStatus === 'open' ? 'live' : socketStatus}
        </span>
        <AccountBar />
      </header>
      {notice && (
        <div className="notice" role="alert" data-testid="notice">
          {notice}
          <button type="button" onClick={() => setNotice(null)} aria-label="dismiss">
            ×
          </button>
        </div>
      )}
    </>
  );
}
