'use client';

import { useState } from 'react';

import { describeError } from '@/lib/api';

import { useExchange } from './ExchangeProvider';

const DEMO_ASSET = 'INR';
const DEMO_AMOUNT = '100000';

/** Sign up (the API key stays in this browser), the demo deposit, sign out. */
export function AccountBar() {
  const { account, privateApi, signUp, signOut, setBalances, setNotice } = useExchange();
  const [busy, setBusy] = useState(false);

  if (!account) {
    return (
      <div className="account-bar">
        <button type="button" className="primary" data-testid="sign-up" onClick={() => void signUp()}>
          Sign up
        </button>
      </div>
    );
  }

  const deposit = async () => {
    if (!privateApi) return;
    setBusy(true);
    try {
      setBalances(await privateApi.deposit(DEMO_ASSET, DEMO_AMOUNT));
    } catch (error) {
      setNotice(describeError(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="account-bar">
      <span className="user" data-testid="user-id" title={`user ${account.userId}`}>
        {account.userId}
      </span>
      <button type="button" data-testid="demo-deposit" disabled={busy} onClick={() => void deposit()}>
        Demo deposit<span className="hide-narrow"> ₹100,000</span>
      </button>
      <button type="button" data-testid="sign-out" onClick={signOut}>
        Sign out
      </button>
    </div>
  );
}
