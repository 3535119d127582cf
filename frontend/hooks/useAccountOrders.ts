'use client';

import { useCallback, useEffect, useRef, useState } from 'react';

import { useExchange } from '@/components/ExchangeProvider';
import { loadOrderHistory, mergeOrder, saveOrderHistory } from '@/lib/account';
import { describeError } from '@/lib/api';
import { isOpen, type Order, type OrderRequest, type UserFill } from '@/lib/types';

import { useStream } from './useStream';

// Fills are read from the DB writer's tables, which follow the engine by up to 2 s (docs/api.md).
const FILLS_REFRESH_MS = [400, 2500];
const FILLS_POLL_MS = 5000;

export interface AccountOrders {
  openOrders: Order[];
  history: Order[];
  fills: UserFill[];
  place: (request: OrderRequest) => Promise<Order>;
  cancel: (orderId: string) => Promise<void>;
  cancelAll: () => Promise<void>;
}

/**
 * The signed-in user's orders and fills in ``market``. GET /orders lists only open orders, so the order
 * history is what this browser has seen (replies and `orders` events), kept in localStorage per user.
 */
export function useAccountOrders(market: string): AccountOrders {
  const { privateApi, account, refreshBalances, setNotice } = useExchange();
  // the orders seen, tagged with their owner so one user's list is never saved under another's key
  const [known, setKnown] = useState<{ owner: string | null; orders: Order[] }>({ owner: null, orders: [] });
  const [fills, setFills] = useState<UserFill[]>([]);
  const timers = useRef<ReturnType<typeof setTimeout>[]>([]);
  const userId = account?.userId ?? null;

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

  const afterChange = useCallback(() => {
    void refreshBalances();
    for (const delay of FILLS_REFRESH_MS) timers.current.push(setTimeout(() => void refreshFills(), delay));
  }, [refreshBalances, refreshFills]);

  useEffect(() => () => timers.current.forEach(clearTimeout), []);

  // load: what this browser saw before, then the exchange's view of the open ones
  useEffect(() => {
    setFills([]);
    if (!privateApi || !userId) {
      setKnown({ owner: null, orders: [] });
      return;
    }
    let live = true;
    const seen = loadOrderHistory(window.localStorage, userId);
    setKnown({ owner: userId, orders: seen });
    (async () => {
      try {
        const open = await privateApi.openOrders();
        if (!live) return;
        const openIds = new Set(open.map((o) => o.orderId));
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
  }, [privateApi, userId, record, setNotice]);

  useEffect(() => {
    if (known.owner) saveOrderHistory(window.localStorage, known.owner, known.orders);
  }, [known]);

  useEffect(() => {
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

  const inMarket = known.orders.filter((o) => o.market === market);
  return {
    openOrders: inMarket.filter(isOpen).sort((a, b) => a.createdAt - b.createdAt),
    history: inMarket.filter((o) => !isOpen(o)),
    fills,
    place,
    cancel,
    cancelAll,
  };
}
