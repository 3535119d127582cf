/** The REST client: JSON in and out, the API key as a bearer token, errors as ApiError (the envelope). */

import type {
  Balances, Kline, MarketInfo, Order, OrderRequest, Quote, Side, Ticker, Trade, UserFill,
} from './types';

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The contract's `{"error": {"code", "message"}}` as an ApiError; anything else as HTTP_<status>. */
export function errorFromBody(status: number, body: unknown): ApiError {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (error && typeof error.code === 'string') {
    const message = typeof error.message === 'string' ? error.message : error.code;
    return new ApiError(error.code, message, status);
  }
  return new ApiError(`HTTP_${status}`, `the server answered ${status}`, status);
}

/** "INSUFFICIENT_BALANCE: available balance cannot cover the order" for a person to read. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return `${error.message} (${error.code})`;
  if (error instanceof Error) return error.message;
  return String(error);
}

type Query = Record<string, string | number | undefined>;

export class ApiClient {
  constructor(
    private readonly base: string,
    private readonly apiKey: string | null = null,
  ) {}

  withKey(apiKey: string | null): ApiClient {
    return new ApiClient(this.base, apiKey);
  }

  async request<T>(method: string, path: string, options: { query?: Query; body?: unknown } = {}): Promise<T> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) params.set(key, String(value));
    }
    const url = `${this.base}${path}${params.size ? `?${params}` : ''}`;
    const headers: Record<string, string> = {};
    if (this.apiKey) headers.Authorization = `Bearer ${this.apiKey}`;
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
    } catch {
      throw new ApiError('NETWORK_ERROR', 'the exchange cannot be reached', 0);
    }
    const text = await response.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    if (!response.ok) throw errorFromBody(response.status, body);
    return body as T;
  }

  // market data (public)
  markets = () => this.request<MarketInfo[]>('GET', '/markets');
  tickers = () => this.request<Ticker[]>('GET', '/tickers');
  ticker = (market: string) => this.request<Ticker>('GET', '/ticker', { query: { market } });
  trades = (market: string, limit = 50) => this.request<Trade[]>('GET', '/trades', { query: { market, limit } });
  klines = (market: string, interval: string, limit = 500) =>
    this.request<Kline[]>('GET', '/klines', { query: { market, interval, limit } });
  quote = (market: string, kind: Side, quantity: string) =>
    this.request<Quote>('POST', '/order/quote', { body: { market, kind, quantity } });

  // account (private)
  signUp = () => this.request<{ userId: string; apiKey: string }>('POST', '/users');
  deposit = (asset: string, amount: string) => this.request<Balances>('POST', '/deposit', { body: { asset, amount } });
  balances = () => this.request<Balances>('GET', '/balances');
  placeOrder = (order: OrderRequest) => this.request<Order>('POST', '/order', { body: order });
  order = (orderId: string) => this.request<Order>('GET', `/order/${encodeURIComponent(orderId)}`);
  cancelOrder = (orderId: string) => this.request<Order>('DELETE', `/order/${encodeURIComponent(orderId)}`);
  openOrders = (market?: string) => this.request<Order[]>('GET', '/orders', { query: { market } });
  cancelAll = (market?: string) => this.request<Order[]>('DELETE', '/orders', { query: { market } });
  orderHistory = (market?: string, limit = 100) =>
    this.request<Order[]>('GET', '/orders/history', { query: { market, limit } });
  fills = (market?: string, limit = 100) => this.request<UserFill[]>('GET', '/fills', { query: { market, limit } });
}
