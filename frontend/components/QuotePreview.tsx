'use client';

import type { QuoteState } from '@/hooks/useQuote';
import { formatDecimal } from '@/lib/format';
import type { MarketInfo } from '@/lib/types';

/** What a market order of this size would do now (POST /order/quote). */
export function QuotePreview({ market, state, decimals }: { market: MarketInfo; state: QuoteState; decimals: number }) {
  const { quote, error } = state;
  if (error) {
    return (
      <p className="quote error" data-testid="quote-error">
        {error}
      </p>
    );
  }
  if (!quote) return null;
  return (
    <dl className="quote" data-testid="quote-preview" data-average={quote.averagePrice ?? ''}>
      <div>
        <dt>Fillable now</dt>
        <dd data-testid="quote-fillable">
          {formatDecimal(quote.fillableQuantity)} {market.base}
        </dd>
      </div>
      <div>
        <dt>Average price</dt>
        <dd data-testid="quote-average">{formatDecimal(quote.averagePrice, decimals)}</dd>
      </div>
      <div>
        <dt>Worst price</dt>
        <dd data-testid="quote-worst">{formatDecimal(quote.worstPrice, decimals)}</dd>
      </div>
      <div>
        <dt>{quote.kind === 'buy' ? 'Cost' : 'Proceeds'}</dt>
        <dd data-testid="quote-total">
          {formatDecimal(quote.quoteQuantity)} {market.quote}
        </dd>
      </div>
      {!quote.fullyFillable && (
        <p className="warn" data-testid="quote-short">
          Not enough liquidity: only {formatDecimal(quote.fillableQuantity)} would fill, the rest expires.
        </p>
      )}
    </dl>
  );
}
