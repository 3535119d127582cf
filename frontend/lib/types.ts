/** The shapes of docs/api.md that the UI reads. Every money value is a decimal string. */

export interface MarketInfo {
  symbol: string;
  base: string;
  quote: string;
  tickSize: string;
  lotSize: string;
  minQuantity: string;
}

export interface Ticker {
  market: string;
  lastPrice: string | null;
  open: string | null;
  high: string | null;
  low: string | null;
  volume: string;
  quoteVolume: string;
  priceChange: string | null;
  priceChangePercent: string | null;
  bestBid: string | null;
  bestAsk: string | null;
  trades: number;
  time: number;
}

export interface Trade {
  tradeId: string;
  price: string;
  quantity: string;
  quoteQuantity: string;
  time: number;
  isBuyerMaker: boolean;
}

export interface Kline {
  openTime: number;
  closeTime: number;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
  quoteVolume: string;
  trades: number;
  closed?: boolean;
}

export type Side = 'buy' | 'sell';
export type OrderType = 'limit' | 'market';
export type TimeInForce = 'GTC' | 'IOC' | 'FOK';
export type FillStatus = 'new' | 'partially_filled' | 'filled' | 'cancelled' | 'expired';

export interface Order {
  orderId: string;
  clientOrderId: string | null;
  market: string;
  kind: Side;
  type: OrderType;
  price: string | null;
  quantity: string;
  executedQuantity: string;
  executedQuoteQuantity: string;
  fillStatus: FillStatus;
  timeInForce: TimeInForce;
  postOnly: boolean;
  createdAt: number;
  fills: { tradeId: string; price: string; quantity: string }[];
}

export interface UserFill {
  tradeId: string;
  orderId: string;
  market: string;
  kind: Side;
  price: string;
  quantity: string;
  fee: string;
  time: number;
  liquidity: 'maker' | 'taker';
}

export interface Quote {
  market: string;
  kind: Side;
  quantity: string;
  fillableQuantity: string;
  averagePrice: string | null;
  worstPrice: string | null;
  quoteQuantity: string;
  fullyFillable: boolean;
}

export type Balances = Record<string, { available: string; locked: string }>;

export interface OrderRequest {
  market: string;
  kind: Side;
  type: OrderType;
  quantity: string;
  price?: string;
  timeInForce?: TimeInForce;
  postOnly?: boolean;
  clientOrderId?: string;
}

export const OPEN_STATUSES: readonly FillStatus[] = ['new', 'partially_filled'];

export function isOpen(order: Order): boolean {
  return OPEN_STATUSES.includes(order.fillStatus);
}
