/** The signed-up account kept in the browser (localStorage), and merging the states of its orders. */

import type { Order } from './types';

export interface Account {
  userId: string;
  apiKey: string;
}

const ACCOUNT_KEY = 'mudra.account';

export function loadAccount(storage: Storage): Account | null {
  try {
    const value = JSON.parse(storage.getItem(ACCOUNT_KEY) ?? 'null');
    if (value && typeof value.userId === 'string' && typeof value.apiKey === 'string') return value;
  } catch {
    // a corrupt entry is dropped below
  }
  storage.removeItem(ACCOUNT_KEY);
  return null;
}

export function saveAccount(storage: Storage, account: Account | null): void {
  if (account) storage.setItem(ACCOUNT_KEY, JSON.stringify(account));
  else storage.removeItem(ACCOUNT_KEY);
}

/**
 * Drop what older versions of this UI kept of ``userId``'s orders in this browser (the history now comes
 * from the API's GET /orders/history).
 */
export function forgetOrderHistory(storage: Storage, userId: string): void {
  storage.removeItem(`mudra.orders.${userId}`);
}

/**
 * ``orders`` with ``update`` merged in by orderId, newest first. An update never takes an order back to
 * an earlier state (an `orders` event can arrive after the reply that already showed a later one).
 */
export function mergeOrder(orders: Order[], update: Order): Order[] {
  const index = orders.findIndex((order) => order.orderId === update.orderId);
  if (index < 0) return [update, ...orders].sort(newestFirst);
  const current = orders[index];
  if (isBehind(update, current)) return orders;
  const next = orders.slice();
  next[index] = update;
  return next;
}

const FINAL = new Set(['filled', 'cancelled', 'expired']);

function isBehind(update: Order, current: Order): boolean {
  if (FINAL.has(current.fillStatus) && !FINAL.has(update.fillStatus)) return true;
  return update.fills.length < current.fills.length;
}

/**
 * The order history: the orders the API has stored (GET /orders/history, up to ~2 s behind the engine)
 * with the states this page has seen since (replies and `orders` events) laid over them, so a just-closed
 * order shows at once. Per order the later state wins, whichever side it came from; newest first.
 */
export function mergeHistory(stored: Order[], seen: Order[]): Order[] {
  const byId = new Map<string, Order>();
  for (const order of [...stored, ...seen]) {
    const current = byId.get(order.orderId);
    if (!current || !isBehind(order, current)) byId.set(order.orderId, order);
  }
  return [...byId.values()].sort(newestFirst);
}

/** Newest first as the API lists history: createdAt, then the order's number, then its id. */
export function newestFirst(a: Order, b: Order): number {
  if (a.createdAt !== b.createdAt) return b.createdAt - a.createdAt;
  const byNumber = orderNumber(b.orderId) - orderNumber(a.orderId);
  if (byNumber !== 0) return byNumber;
  return a.orderId < b.orderId ? 1 : a.orderId > b.orderId ? -1 : 0;
}

function orderNumber(orderId: string): number {
  const number = Number(orderId.slice(orderId.lastIndexOf('-') + 1));
  return Number.isFinite(number) ? number : 0;
}
