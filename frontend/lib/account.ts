/** The signed-up account kept in the browser (localStorage), and the orders it has seen. */

import type { Order } from './types';

export interface Account {
  userId: string;
  apiKey: string;
}

const ACCOUNT_KEY = 'mudra.account';
const HISTORY_LIMIT = 200;

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

const historyKey = (userId: string) => `mudra.orders.${userId}`;

/** The orders this browser has seen for ``userId`` (the API lists only open ones), newest first. */
export function loadOrderHistory(storage: Storage, userId: string): Order[] {
  try {
    const value = JSON.parse(storage.getItem(historyKey(userId)) ?? '[]');
    return Array.isArray(value) ? value : [];
  } catch {
    return [];
  }
}

export function saveOrderHistory(storage: Storage, userId: string, orders: Order[]): void {
  storage.setItem(historyKey(userId), JSON.stringify(orders.slice(0, HISTORY_LIMIT)));
}

export function forgetOrderHistory(storage: Storage, userId: string): void {
  storage.removeItem(historyKey(userId));
}

/**
 * ``orders`` with ``update`` merged in by orderId, newest first. An update never takes an order back to
 * an earlier state (an `orders` event can arrive after the reply that already showed a later one).
 */
export function mergeOrder(orders: Order[], update: Order): Order[] {
  const index = orders.findIndex((order) => order.orderId === update.orderId);
  if (index < 0) return [update, ...orders].sort((a, b) => b.createdAt - a.createdAt);
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
