import { describe, expect, it } from 'vitest';

import { loadAccount, loadOrderHistory, mergeOrder, saveAccount, saveOrderHistory } from '@/lib/account';
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

  it('keeps each user their own order history', () => {
    const storage = new MemoryStorage() as unknown as Storage;
    saveOrderHistory(storage, 'u1', [order('a', 'filled')]);
    expect(loadOrderHistory(storage, 'u1').map((o) => o.orderId)).toEqual(['a']);
    expect(loadOrderHistory(storage, 'u2')).toEqual([]);
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
});
