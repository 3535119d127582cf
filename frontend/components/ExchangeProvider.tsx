'use client';

/**
 * What every page shares: the configuration, the REST client, the one WebSocket, the markets list, the
 * signed-up account and its balances.
 */

import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';

import { type Account, forgetOrderHistory, loadAccount, saveAccount } from '@/lib/account';
import { ApiClient, describeError } from '@/lib/api';
import { loadConfig, type AppConfig } from '@/lib/config';
import { MarketSocket, type SocketStatus } from '@/lib/socket';
import type { Balances, MarketInfo } from '@/lib/types';

interface Exchange {
  config: AppConfig;
  api: ApiClient; // public endpoints
  socket: MarketSocket;
  socketStatus: SocketStatus;
  epoch: number; // +1 each time the WebSocket reopens: data loaded before may have missed events
  markets: MarketInfo[];
  account: Account | null;
  privateApi: ApiClient | null; // with the account's key
  balances: Balances | null;
  refreshBalances: () => Promise<void>;
  setBalances: (balances: Balances) => void;
  signUp: () => Promise<void>;
  signOut: () => void;
  notice: string | null;
  setNotice: (text: string | null) => void;
}

const ExchangeContext = createContext<Exchange | null>(null);

export function useExchange(): Exchange {
  const exchange = useContext(ExchangeContext);
  if (!exchange) throw new Error('useExchange outside ExchangeProvider');
  return exchange;
}

interface Connection {
  config: AppConfig;
  api: ApiClient;
  socket: MarketSocket;
}

export function ExchangeProvider({ children }: { children: ReactNode }) {
  const [connection, setConnection] = useState<Connection | null>(null);
  const [socketStatus, setSocketStatus] = useState<SocketStatus>('connecting');
  const [epoch, setEpoch] = useState(0);
  const [markets, setMarkets] = useState<MarketInfo[]>([]);
  const [account, setAccount] = useState<Account | null>(null);
  const [balances, setBalances] = useState<Balances | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    let socket: MarketSocket | null = null;
    let cancelled = false;
    let stopStatus = () => {};
    setAccount(loadAccount(window.localStorage));
    loadConfig().then((config) => {
      if (cancelled) return;
      socket = new MarketSocket(config.wsUrl);
      let opened = false;
      stopStatus = socket.onStatus((status) => {
        setSocketStatus(status);
        if (status !== 'open') return;
        if (opened) setEpoch((n) => n + 1); // a reconnect, not the first open
        opened = true;
      });
      socket.start();
      setConnection({ config, api: new ApiClient(config.apiBase), socket });
    });
    return () => {
      cancelled = true;
      stopStatus();
      socket?.stop();
    };
  }, []);

  useEffect(() => {
    if (!connection) return;
    connection.api.markets().then(setMarkets, (error) => setNotice(describeError(error)));
  }, [connection]);

  const privateApi = useMemo(
    () => (connection && account ? connection.api.withKey(account.apiKey) : null),
    [connection, account],
  );

  useEffect(() => {
    connection?.socket.setApiKey(account?.apiKey ?? null);
  }, [connection, account]);

  const refreshBalances = useCallback(async () => {
    if (!privateApi) return;
    try {
      setBalances(await privateApi.balances());
    } catch (error) {
      setNotice(describeError(error));
    }
  }, [privateApi]);

  useEffect(() => {
    setBalances(null);
    void refreshBalances();
  }, [refreshBalances]);

  const signUp = useCallback(async () => {
    if (!connection) return;
    try {
      const created = await connection.api.signUp();
      saveAccount(window.localStorage, created);
      setAccount(created);
      setNotice(null);
    } catch (error) {
      setNotice(describeError(error));
    }
  }, [connection]);

  const signOut = useCallback(() => {
    if (account) forgetOrderHistory(window.localStorage, account.userId);
    saveAccount(window.localStorage, null);
    setAccount(null);
  }, [account]);

  const value = useMemo<Exchange | null>(
    () =>
      connection && {
        ...connection,
        socketStatus,
        epoch,
        markets,
        account,
        privateApi,
        balances,
        refreshBalances,
        setBalances,
        signUp,
        signOut,
        notice,
        setNotice,
      },
    [connection, socketStatus, epoch, markets, account, privateApi, balances, refreshBalances, signUp, signOut, notice],
  );

  if (!value) return <p className="loading">Connecting to the exchange…</p>;
  return <ExchangeContext.Provider value={value}>{children}</ExchangeContext.Provider>;
}
