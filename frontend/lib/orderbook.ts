/**
 * The local order book kept from the `depth@M` stream (docs/api.md, WebSocket): a snapshot, then diffs.
 *
 * Pure: no I/O, no React. A diff carries each changed level's new absolute quantity ("0" removes it) and
 * `firstSequence` = the previous event's `sequence` + 1. A diff at or below the book's sequence is stale
 * and ignored; one that skips ahead is a gap: `applyDiff` returns 'gap' and the caller resubscribes
 * (the server then sends a fresh snapshot, which replaces the book).
 */

import { addDecimal, compareDecimal, isZero, subtractDecimal } from './decimal';

export type Level = [price: string, quantity: string];

export interface Book {
  sequence: number;
  bids: Level[]; // best (highest) first
  asks: Level[]; // best (lowest) first
}

export interface DepthSnapshot {
  type: 'snapshot';
  sequence: number;
  bids: Level[];
  asks: Level[];
}

export interface DepthUpdate {
  type: 'update';
  firstSequence: number;
  sequence: number;
  bids: Level[];
  asks: Level[];
}

export type DepthEvent = DepthSnapshot | DepthUpdate;

const bidOrder = (a: string, b: string) => compareDecimal(b, a);
const askOrder = (a: string, b: string) => compareDecimal(a, b);

function sortedLevels(levels: Level[], order: (a: string, b: string) => number): Level[] {
  return levels.filter(([, quantity]) => !isZero(quantity)).sort((x, y) => order(x[0], y[0]));
}

/** The book a snapshot describes. */
export function fromSnapshot(snapshot: Omit<DepthSnapshot, 'type'>): Book {
  return {
    sequence: snapshot.sequence,
    bids: sortedLevels(snapshot.bids, bidOrder),
    asks: sortedLevels(snapshot.asks, askOrder),
  };
}

/** One side with ``changes`` applied (absolute quantities; "0" removes); a new array, the input untouched. */
export function applyLevels(
  side: Level[],
  changes: Level[],
  order: (a: string, b: string) => number,
): Level[] {
  const result = side.slice();
  for (const [price, quantity] of changes) {
    let low = 0;
    let high = result.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (order(result[middle][0], price) < 0) low = middle + 1;
      else high = middle;
    }
    const found = low < result.length && order(result[low][0], price) === 0;
    if (isZero(quantity)) {
      if (found) result.splice(low, 1);
    } else if (found) {
      result[low] = [result[low][0], quantity];
    } else {
      result.splice(low, 0, [price, quantity]);
    }
  }
  return result;
}

/** The book after ``diff``; the same book when the diff is stale; 'gap' when events were missed. */
export function applyDiff(book: Book, diff: Omit<DepthUpdate, 'type'>): Book | 'gap' {
  if (diff.sequence <= book.sequence) return book;
  if (diff.firstSequence > book.sequence + 1) return 'gap';
  return {
    sequence: diff.sequence,
    bids: applyLevels(book.bids, diff.bids, bidOrder),
    asks: applyLevels(book.asks, diff.asks, askOrder),
  };
}

/**
 * One `depth@M` event applied to the current state: a snapshot replaces it; a diff before any snapshot
 * (null: waiting for one after a (re)subscribe) is ignored.
 */
export function applyDepthEvent(book: Book | null, event: DepthEvent): Book | null | 'gap' {
  if (event.type === 'snapshot') return fromSnapshot(event);
  if (book === null) return null;
  return applyDiff(book, event);
}

export interface DepthRow {
  price: string;
  quantity: string;
  total: string; // cumulative quantity from the best level to this one, exact
  share: number; // total / the side's shown total, 0..1, for the depth bar only
}

/** The best ``limit`` levels of a side with cumulative totals and bar shares. */
export function depthRows(levels: Level[], limit: number, scaleTotal?: string): DepthRow[] {
  const rows: DepthRow[] = [];
  let total = '0';
  for (const [price, quantity] of levels.slice(0, limit)) {
    total = addDecimal(total, quantity);
    rows.push({ price, quantity, total, share: 0 });
  }
  const max = Number(scaleTotal ?? (rows.length ? rows[rows.length - 1].total : '0'));
  for (const row of rows) row.share = max > 0 ? Math.min(1, Number(row.total) / max) : 0;
  return rows;
}

/** The larger of the two sides' cumulative totals over ``limit`` levels, so both bars share one scale. */
export function depthScale(book: Book, limit: number): string {
  const sum = (levels: Level[]) => levels.slice(0, limit).reduce((acc, [, q]) => addDecimal(acc, q), '0');
  const bids = sum(book.bids);
  const asks = sum(book.asks);
  return compareDecimal(bids, asks) >= 0 ? bids : asks;
}

export interface Spread {
  absolute: string;
  bestBid: string;
  bestAsk: string;
}

/** Best ask - best bid, exactly; null while either side is empty. */
export function spread(book: Book): Spread | null {
  if (!book.bids.length || !book.asks.length) return null;
  const bestBid = book.bids[0][0];
  const bestAsk = book.asks[0][0];
  return { absolute: subtractDecimal(bestAsk, bestBid), bestBid, bestAsk };
}
