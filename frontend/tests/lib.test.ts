import { describe, expect, it } from 'vitest';

import { forgetOrderHistory, loadAccount, mergeHistory, mergeOrder, newestFirst, saveAccount } from '@/lib/account';
import { ApiError, describeError, errorFromBody } from '@/lib/api';
import { defaultConfig, parseConfig } from '@/lib/config';
import type { Order } from '@/lib/types';

class MemoryStorage {
  private values = new Map<string, string>();
  get length() {
    return this.values.size;
  }
  clear() {
    this.values.clear();
  }
  getItem(key: string) {
    return this.values.get(key) ?? null;
  }
  key(index: number) {
    return [...this.values.keys()][index] ?? null;
  }
  removeItem(key: string) {
    this.values.delete(key);
  }
  setItem(key: string, value: string) {
    this.values.set(key, value);
  }
}

describe('config', () => {
  const fallback = defaultConfig({ protocol: 'https:', hostname: 'ex.test' });

  it('defaults to this origin and the WebSocket port of docs/api.md', () => {
    expect(fallback).toEqual({ apiBase: '/api/v1', wsUrl: 'wss://ex.test:8001/' });
    expect(defaultConfig({ protocol: 'http:', hostname: 'h' }).wsUrl).toBe('ws://h:8001/');
  });

  it('takes the served values, keeping the default for a bad or missing one', () => {
    expect(parseConfig({ apiBase: 'http://a:8000/api/v1/', wsUrl: 'ws://a:9/' }, fallback)).toEqual({
      apiBase: 'http://a:8000/api/v1',
      wsUrl: 'ws://a:9/',
    });
    expect(parseConfig({ apiBase: 3 }, fallback)).toEqual(fallback);
    expect(parseConfig(null, fallback)).toEqual(fallback);
  });
});

describe('api errors', () => {
  it('reads the contract envelope', () => {
    const error = errorFromBody(400, { error: { code: 'INVALID_PRICE', message: 'price is off the tick' } });
    expect(error).toBeInstanceOf(ApiError);
    expect([error.code, error.message, error.status]).toEqual(['INVALID_PRICE', 'price is off the tick', 400]);
    expect(describeError(error)).toBe('price is off the tick (INVALID_PRICE)');
  });

  it('names the status when the body is not an envelope', () => {
    expect(errorFromBody(502, '<html>').code).toBe('HTTP_502');
  });
});

const order = (orderId: string, fillStatus: Order['fillStatus'], fills = 0, createdAt = 1): Order => ({
  orderId, clientOrderId: null, market: 'TATA-INR', kind: 'buy', type: 'limit', price: '100.00', quantity: '3',
  executedQuantity: String(fills), executedQuoteQuantity: '0', fillStatus, timeInForce: 'GTC', postOnly: false,
  createdAt, fills: Array.from({ length: fills }, (_, i) => ({ tradeId: `t${i}`, price: '100.00', quantity: '1' })),
});

describe('account', () => {
  it('keeps the account and drops a corrupt entry', () => {
    const storage = new MemoryStorage() as unknown as Storage;
    expect(loadAccount(storage)).toBeNull();
    saveAccount(storage, { userId: 'u1', apiKey: 'k1' });
    expect(loadAccount(storage)).toEqual({ userId: 'u1', apiKey: 'k1' });
    storage.setItem('mudra.account', '{not json');
    expect(loadAccount(storage)).toBeNull();
    expect(storage.getItem('mudra.account')).toBeNull();
  });

  it("drops the order history older versions kept in the browser, only that user's", () => {
    const storage = new MemoryStorage() as unknown as Storage;
    storage.setItem('mudra.orders.u1', '[]');
    storage.setItem('mudra.orders.u2', '[]');
    forgetOrderHistory(storage, 'u1');
    expect(storage.getItem('mudra.orders.u1')).toBeNull();
    expect(storage.getItem('mudra.orders.u2')).toBe('[]');
  });

  it('merges orders newest first and never goes back to an earlier state', () => {
    let orders = mergeOrder([], order('a', 'new', 0, 1));
    orders = mergeOrder(orders, order('b', 'new', 0, 2));
    expect(orders.map((o) => o.orderId)).toEqual(['b', 'a']);
    orders = mergeOrder(orders, order('a', 'partially_filled', 1, 1));
    orders = mergeOrder(orders, order('a', 'cancelled', 1, 1));
    orders = mergeOrder(orders, order('a', 'partially_filled', 1, 1)); // a late event
    expect(orders.find((o) => o.orderId === 'a')?.fillStatus).toBe('cancelled');
    orders = mergeOrder(orders, order('b', 'new', 0, 2));
    expect(orders.find((o) => o.orderId === 'b')?.fillStatus).toBe('new');
  });

  it('lays the states seen on the page over the stored history, the later state winning', () => {
    const at = (o: Order, orderId: string, createdAt: number) => ({ ...o, orderId, createdAt });
    const stored = [
      at(order('a', 'filled', 3), 'TATA-INR-7', 30), // closed long ago: only the server knows it
      at(order('b', 'new'), 'TATA-INR-9', 40), // open when the writer stored it
      at(order('c', 'cancelled', 2), 'TATA-INR-12', 50), // stored closed; a late event says otherwise
      at(order('d', 'partially_filled', 1), 'TATA-INR-11', 50),
    ];
    const seen = [
      at(order('b', 'cancelled'), 'TATA-INR-9', 40), // just cancelled, not stored yet
      at(order('c', 'partially_filled', 2), 'TATA-INR-12', 50),
      at(order('d', 'partially_filled', 0), 'TATA-INR-11', 50), // older than the stored state
      at(order('e', 'expired'), 'TATA-INR-13', 60), // closed before the writer stored anything of it
    ];
    const merged = mergeHistory(stored, seen);
    expect(merged.map((o) => [o.orderId, o.fillStatus, o.fills.length])).toEqual([
      ['TATA-INR-13', 'expired', 0],
      ['TATA-INR-12', 'cancelled', 2], // same createdAt: the higher order number first
      ['TATA-INR-11', 'partially_filled', 1],
      ['TATA-INR-9', 'cancelled', 0],
      ['TATA-INR-7', 'filled', 3],
    ]);
    expect(mergeHistory(stored, [])).toEqual([...stored].sort(newestFirst));
    expect(mergeHistory([], seen).map((o) => o.orderId)).toEqual([
      'TATA-INR-13', 'TATA-INR-12', 'TATA-INR-11', 'TATA-INR-9',
    ]);
  });

  it('orders ties on createdAt by order number, not as text', () => {
    const a = { ...order('x', 'filled'), orderId: 'TATA-INR-9', createdAt: 5 };
    const b = { ...order('x', 'filled'), orderId: 'TATA-INR-10', createdAt: 5 };
    expect([a, b].sort(newestFirst).map((o) => o.orderId)).toEqual(['TATA-INR-10', 'TATA-INR-9']);
  });
});
