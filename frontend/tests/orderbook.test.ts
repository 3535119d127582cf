import { describe, expect, it } from 'vitest';

import {
  applyDepthEvent, applyDiff, applyLevels, depthRows, depthScale, fromSnapshot, spread, type Book,
} from '@/lib/orderbook';

const snapshot = {
  type: 'snapshot' as const,
  sequence: 10,
  bids: [['99.00', '5'], ['100.50', '2'], ['98', '1']] as [string, string][],
  asks: [['102.00', '4'], ['101.00', '3']] as [string, string][],
};

const update = (firstSequence: number, sequence: number, bids: [string, string][], asks: [string, string][] = []) => ({
  type: 'update' as const, firstSequence, sequence, bids, asks,
});

describe('fromSnapshot', () => {
  it('sorts bids best (highest) first and asks best (lowest) first, exactly', () => {
    const book = fromSnapshot(snapshot);
    expect(book.sequence).toBe(10);
    expect(book.bids.map(([p]) => p)).toEqual(['100.50', '99.00', '98']);
    expect(book.asks.map(([p]) => p)).toEqual(['101.00', '102.00']);
  });

  it('drops zero-quantity levels', () => {
    expect(fromSnapshot({ sequence: 1, bids: [['1', '0']], asks: [] }).bids).toEqual([]);
  });
});

describe('applyDiff', () => {
  const book = fromSnapshot(snapshot);

  it('sets absolute quantities, inserts in order and removes a level on "0"', () => {
    const next = applyDiff(book, update(11, 11, [['99.00', '7'], ['100', '1'], ['98', '0']], [['101.00', '0']]));
    expect(next).not.toBe('gap');
    const result = next as Book;
    expect(result.sequence).toBe(11);
    expect(result.bids).toEqual([['100.50', '2'], ['100', '1'], ['99.00', '7']]);
    expect(result.asks).toEqual([['102.00', '4']]);
  });

  it('treats "101.5" and "101.50" as one level', () => {
    const next = applyDiff(fromSnapshot({ sequence: 1, bids: [], asks: [['101.50', '1']] }), update(2, 2, [], [['101.5', '9']]));
    expect((next as Book).asks).toEqual([['101.50', '9']]);
  });

  it('leaves the input untouched', () => {
    applyDiff(book, update(11, 11, [['99.00', '0']]));
    expect(book.bids).toHaveLength(3);
  });

  it('ignores a stale diff (sequence at or below the book)', () => {
    expect(applyDiff(book, update(9, 10, [['1', '1']]))).toBe(book);
    expect(applyDiff(book, update(5, 7, [['1', '1']]))).toBe(book);
  });

  it('reports a gap when a diff skips sequences', () => {
    expect(applyDiff(book, update(12, 12, [['1', '1']]))).toBe('gap');
  });

  it('applies a diff that overlaps the book (absolute quantities make it safe)', () => {
    const next = applyDiff(book, update(9, 12, [['99.00', '3']]));
    expect((next as Book).sequence).toBe(12);
    expect((next as Book).bids[1]).toEqual(['99.00', '3']);
  });

  it('chains: each diff after the previous one', () => {
    let current: Book | 'gap' = book;
    current = applyDiff(current, update(11, 12, [['100.50', '0']]));
    current = applyDiff(current as Book, update(13, 13, [], [['100.90', '1']]));
    expect(current).not.toBe('gap');
    expect((current as Book).bids[0]).toEqual(['99.00', '5']);
    expect((current as Book).asks[0]).toEqual(['100.90', '1']);
  });
});

describe('applyDepthEvent', () => {
  it('waits for a snapshot: a diff before one is ignored', () => {
    expect(applyDepthEvent(null, update(1, 1, [['1', '1']]))).toBeNull();
  });

  it('replaces the book with every snapshot (after a resubscribe)', () => {
    const book = fromSnapshot(snapshot);
    const fresh = applyDepthEvent(book, { type: 'snapshot', sequence: 50, bids: [], asks: [['5', '1']] });
    expect(fresh).toEqual({ sequence: 50, bids: [], asks: [['5', '1']] });
  });

  it('passes the gap on', () => {
    expect(applyDepthEvent(fromSnapshot(snapshot), update(20, 21, []))).toBe('gap');
  });
});

describe('applyLevels', () => {
  it('keeps a long side sorted under random changes', () => {
    const order = (a: string, b: string) => Number(b) - Number(a);
    let side: [string, string][] = [];
    const model = new Map<string, string>();
    let seed = 7;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let i = 0; i < 500; i++) {
      const price = (90 + Math.floor(random() * 200) / 10).toFixed(2);
      const quantity = random() < 0.3 ? '0' : String(1 + Math.floor(random() * 9));
      side = applyLevels(side, [[price, quantity]], order);
      if (quantity === '0') model.delete(price);
      else model.set(price, quantity);
    }
    const expected = [...model.entries()].sort((a, b) => Number(b[0]) - Number(a[0]));
    expect(side).toEqual(expected);
  });
});

describe('depth rows and spread', () => {
  const book = fromSnapshot(snapshot);

  it('adds cumulative totals exactly and scales the bars to the larger side', () => {
    const scale = depthScale(book, 10);
    expect(scale).toBe('8');
    const rows = depthRows(book.bids, 10, scale);
    expect(rows.map((r) => r.total)).toEqual(['2', '7', '8']);
    expect(rows.map((r) => r.share)).toEqual([0.25, 0.875, 1]);
    expect(depthRows(book.asks, 1, scale)).toEqual([{ price: '101.00', quantity: '3', total: '3', share: 0.375 }]);
  });

  it('computes the spread exactly, and none on a one-sided book', () => {
    expect(spread(book)).toEqual({ absolute: '0.50', bestBid: '100.50', bestAsk: '101.00' });
    expect(spread(fromSnapshot({ sequence: 1, bids: [], asks: [['1', '1']] }))).toBeNull();
  });

  it('decimal totals do not pick up float error', () => {
    const rows = depthRows([['1', '0.1'], ['0.9', '0.2']], 5);
    expect(rows[1].total).toBe('0.3');
  });
});
