'use client';

import { useCallback, useEffect, useRef, useState } from 'react';

import { useExchange } from '@/components/ExchangeProvider';
import { applyDepthEvent, type Book, type DepthEvent } from '@/lib/orderbook';
import type { Ticker, Trade } from '@/lib/types';

import { useStream } from './useStream';

const TRADES_SHOWN = 50;

/** The rolling 24 h ticker of ``market``: REST first, then every `ticker@M` event. */
export function useTicker(market: string): Ticker | null {
  const { api, epoch } = useExchange();
  const [ticker, setTicker] = useState<Ticker | null>(null);
  useEffect(() => setTicker(null), [market]);
  useEffect(() => {
    let live = true;
    api.ticker(market).then((t) => live && setTicker((current) => newer(current, t)), () => {});
    return () => {
      live = false;
    };
  }, [api, market, epoch]);
  useStream<Ticker>(`ticker@${market}`, setTicker);
  return ticker;
}

/** The later of two tickers of one market (a REST reply can be older than an event already shown). */
function newer(current: Ticker | null, loaded: Ticker): Ticker {
  return current && current.time > loaded.time ? current : loaded;
}

/** Every market's ticker by symbol, kept live. */
export function useTickers(symbols: string[]): Record<string, Ticker> {
  const { api, socket, epoch } = useExchange();
  const [tickers, setTickers] = useState<Record<string, Ticker>>({});
  const key = symbols.join(',');
  useEffect(() => {
    let live = true;
    api.tickers().then(
      (list) =>
        live &&
        setTickers((current) => ({
          ...current,
          ...Object.fromEntries(list.map((t) => [t.market, newer(current[t.market] ?? null, t)])),
        })),
      () => {},
    );
    const stops = key
      .split(',')
      .filter(Boolean)
      .map((symbol) =>
        socket.subscribe(`ticker@${symbol}`, (data) =>
          setTickers((current) => ({ ...current, [symbol]: data as Ticker })),
        ),
      );
    return () => {
      live = false;
      stops.forEach((stop) => stop());
    };
  }, [api, socket, key, epoch]);
  return tickers;
}

/** The newest trades of ``market``, newest first: REST first, then every `trade@M` event. */
export function useTrades(market: string): Trade[] {
  const { api, epoch } = useExchange();
  const [trades, setTrades] = useState<Trade[]>([]);
  useEffect(() => setTrades([]), [market]);
  useEffect(() => {
    let live = true;
    api.trades(market, TRADES_SHOWN).then(
      (history) => live && setTrades((current) => mergeTrades(current, history, 'older')),
      () => {},
    );
    return () => {
      live = false;
    };
  }, [api, market, epoch]);
  useStream<Trade>(`trade@${market}`, (trade) => setTrades((current) => mergeTrades(current, [trade], 'newer')));
  return trades;
}

/** Newest first, each trade once; ``incoming`` (newest first) goes before or after what is shown. */
function mergeTrades(current: Trade[], incoming: Trade[], age: 'newer' | 'older'): Trade[] {
  const seen = new Set(current.map((t) => t.tradeId));
  const fresh = incoming.filter((t) => !seen.has(t.tradeId));
  const merged = age === 'newer' ? [...fresh, ...current] : [...current, ...fresh];
  return merged.sort((a, b) => b.time - a.time).slice(0, TRADES_SHOWN); // stable: same-ms order kept
}

export type BookState = { book: Book | null; resyncs: number };

/** The live order book of ``market`` from `depth@M`; on a sequence gap it resubscribes for a snapshot. */
export function useOrderBook(market: string): BookState {
  const { socket } = useExchange();
  const [state, setState] = useState<BookState>({ book: null, resyncs: 0 });
  const bookRef = useRef<Book | null>(null);
  const stream = `depth@${market}`;
  useEffect(() => {
    bookRef.current = null;
    setState({ book: null, resyncs: 0 });
  }, [stream]);
  const onEvent = useCallback(
    (event: DepthEvent) => {
      const next = applyDepthEvent(bookRef.current, event);
      if (next === 'gap') {
        bookRef.current = null;
        setState((current) => ({ book: null, resyncs: current.resyncs + 1 }));
        socket.resubscribe(stream);
      } else if (next !== bookRef.current) {
        bookRef.current = next;
        setState((current) => ({ ...current, book: next }));
      }
    },
    [socket, stream],
  );
  useStream<DepthEvent>(stream, onEvent);
  return state;
}
