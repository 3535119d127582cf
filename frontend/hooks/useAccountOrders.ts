'use client';

import { useCallback, useEffect, useRef, useState } from 'react';

import { useExchange } from '@/components/ExchangeProvider';
import { mergeHistory, mergeOrder } from '@/lib/account';
import { describeError } from '@/lib/api';
import { isOpen, type Order, type OrderRequest, type UserFill } from '@/lib/types';

import { useStream } from './useStream';

// Fills and the order history are read from the DB writer's tables, which follow the engine by up to 2 s
// (docs/api.md): read again shortly after each change, and fills every 5 s.
const FILLS_REFRESH_MS = [400, 2500];
const FILLS_POLL_MS = 5000;
const HISTORY_LIMIT = 100;
const HISTORY_REFRESH_MS = 2500; // after a change: once the writer has likely stored it
const HISTORY_MIN_GAP_MS = 1000; // at most one GET /orders/history a second, however many events come

export interface AccountOrders {
  openOrders: Order[];
  history: Order[];
  fills: UserFill[];
  place: (request: OrderRequest) => Promise<Order>;
  cancel: (orderId: string) => Promise<void>;
  cancelAll: () => Promise<void>;
}

/**
 * The signed-in user's orders and fills in ``market``. Open orders: GET /orders, then replies and `orders`
 * events. Order history: GET /orders/history (the server's, from any browser; up to ~2 s behind) with the
 * states seen on this page laid over it (``mergeHistory``), so a just-closed order shows at once. It is
 * read on load, after each reconnect and shortly after each change (throttled).
 */
export function useAccountOrders(market: string): AccountOrders {
  const { privateApi, account, epoch, refreshBalances, setNotice } = useExchange();
  // the orders seen on this page (kept in memory only), tagged with their owner
  const [known, setKnown] = useState<{ owner: string | null; orders: Order[] }>({ owner: null, orders: [] });
  // the stored history of ``market``, tagged with the (user, market) it was read for
  const [stored, setStored] = useState<{ key: string; orders: Order[] }>({ key: '', orders: [] });
  const [fills, setFills] = useState<UserFill[]>([]);
  const timers = useRef<ReturnType<typeof setTimeout>[]>([]);
  const knownRef = useRef(known);
  useEffect(() => {
    knownRef.current = known;
  }, [known]);
  const userId = account?.userId ?? null;
  const historyKey = userId ? `${userId} ${market}` : '';

  const record = useCallback(
    (order: Order) => setKnown((current) => ({ ...current, orders: mergeOrder(current.orders, order) })),
    [],
  );

  const refreshFills = useCallback(async () => {
    if (!privateApi) return;
    try {
      setFills(await privateApi.fills(market, 50));
    } catch (error) {
      setNotice(describeError(error));
    }
  }, [privateApi, market, setNotice]);

  const loadHistory = useCallback(async () => {
    if (!privateApi || !historyKey) return;
    try {
      const orders = await privateApi.orderHistory(market, HISTORY_LIMIT);
      setStored({ key: historyKey, orders });
    } catch (error) {
      setNotice(describeError(error));
    }
  }, [privateApi, market, historyKey, setNotice]);

  // Throttled: a read is scheduled no sooner than HISTORY_MIN_GAP_MS after the previous one; requests
  // while one is scheduled are folded into it.
  const historyTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const lastHistoryRead = useRef(0);
  const refreshHistory = useCallback(
    (delay = 0) => {
      if (historyTimer.current !== null) return;
      const wait = Math.max(delay, lastHistoryRead.current + HISTORY_MIN_GAP_MS - Date.now());
      historyTimer.current = setTimeout(() => {
        historyTimer.current = null;
        lastHistoryRead.current = Date.now();
        void loadHistory();
      }, wait);
    },
    [loadHistory],
  );

  useEffect(() => {
    // a new user, market or connection: read now, dropping a read scheduled with the old ones
    if (historyTimer.current !== null) clearTimeout(historyTimer.current);
    historyTimer.current = null;
    lastHistoryRead.current = 0;
    refreshHistory();
    return () => {
      if (historyTimer.current !== null) clearTimeout(historyTimer.current);
      historyTimer.current = null;
    };
  }, [refreshHistory, epoch]);

  const afterChange = useCallback(() => {
    void refreshBalances();
    for (const delay of FILLS_REFRESH_MS) timers.current.push(setTimeout(() => void refreshFills(), delay));
    refreshHistory(HISTORY_REFRESH_MS);
  }, [refreshBalances, refreshFills, refreshHistory]);

  useEffect(() => () => timers.current.forEach(clearTimeout), []);

  // load, and after each reconnect: the exchange's view of the open orders; the ones this page saw open
  // that are no longer are read one by one (they closed while the connection was down)
  useEffect(() => {
    if (!privateApi || !userId) {
      setKnown({ owner: null, orders: [] });
      return;
    }
    let live = true;
    setKnown((current) => (current.owner === userId ? current : { owner: userId, orders: [] }));
    (async () => {
      try {
        const open = await privateApi.openOrders();
        if (!live) return;
        const openIds = new Set(open.map((o) => o.orderId));
        const seen = knownRef.current.owner === userId ? knownRef.current.orders : [];
        open.forEach(record);
        const stale = seen.filter((o) => isOpen(o) && !openIds.has(o.orderId));
        const updated = await Promise.all(stale.map((o) => privateApi.order(o.orderId).catch(() => null)));
        if (live) updated.forEach((o) => o && record(o));
      } catch (error) {
        if (live) setNotice(describeError(error));
      }
    })();
    return () => {
      live = false;
    };
  }, [privateApi, userId, record, setNotice, epoch]);

  useEffect(() => {
    setFills([]);
    void refreshFills();
    if (!privateApi) return;
    const timer = setInterval(() => void refreshFills(), FILLS_POLL_MS);
    return () => clearInterval(timer);
  }, [privateApi, refreshFills]);

  useStream<Order>(privateApi ? 'orders' : null, (order) => {
    record(order);
    afterChange();
  });

  const place = useCallback(
    async (request: OrderRequest) => {
      if (!privateApi) throw new Error('sign up first');
      const order = await privateApi.placeOrder(request);
      record(order);
      afterChange();
      return order;
    },
    [privateApi, record, afterChange],
  );

  const cancel = useCallback(
    async (orderId: string) => {
      if (!privateApi) return;
      try {
        record(await privateApi.cancelOrder(orderId));
        afterChange();
      } catch (error) {
        setNotice(describeError(error));
      }
    },
    [privateApi, record, afterChange, setNotice],
  );

  const cancelAll = useCallback(async () => {
    if (!privateApi) return;
    try {
      (await privateApi.cancelAll(market)).forEach(record);
      afterChange();
    } catch (error) {
      setNotice(describeError(error));
    }
  }, [privateApi, market, record, afterChange, setNotice]);

  const seen = known.owner === userId ? known.orders.filter((o) => o.market === market) : [];
  const merged = mergeHistory(stored.key === historyKey ? stored.orders : [], seen);
  const seenIds = new Set(seen.map((o) => o.orderId));
  return {
    // open: what the engine said was open (GET /orders, replies, events), unless a later state closed it
    openOrders: merged.filter((o) => isOpen(o) && seenIds.has(o.orderId)).sort((a, b) => a.createdAt - b.createdAt),
    history: merged.filter((o) => !isOpen(o)),
    fills,
    place,
    cancel,
    cancelAll,
  };
}
