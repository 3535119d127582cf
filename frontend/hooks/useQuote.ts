'use client';

import { useEffect, useState } from 'react';

import { useExchange } from '@/components/ExchangeProvider';
import { describeError } from '@/lib/api';
import { parseDecimal } from '@/lib/decimal';
import type { Quote, Side } from '@/lib/types';

const DEBOUNCE_MS = 250;
const REFRESH_MS = 2000; // the book moves under a standing quote

export type QuoteState = { quote: Quote | null; error: string | null };

/** POST /order/quote for a market order of ``quantity`` while ``enabled``: on each change, then every 2 s. */
export function useQuote(market: string, kind: Side, quantity: string, enabled: boolean): QuoteState {
  const { api } = useExchange();
  const [state, setState] = useState<QuoteState>({ quote: null, error: null });
  const text = quantity.trim();
  const valid = enabled && parseDecimal(text) !== null;
  useEffect(() => {
    if (!valid) {
      setState({ quote: null, error: null });
      return;
    }
    let live = true;
    const ask = () =>
      api.quote(market, kind, text).then(
        (quote) => live && setState({ quote, error: null }),
        (error) => live && setState({ quote: null, error: describeError(error) }),
      );
    const first = setTimeout(ask, DEBOUNCE_MS);
    const again = setInterval(ask, REFRESH_MS);
    return () => {
      live = false;
      clearTimeout(first);
      clearInterval(again);
    };
  }, [api, market, kind, text, valid]);
  return state;
}
