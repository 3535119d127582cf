'use client';

import { useEffect, useRef } from 'react';

import { useExchange } from '@/components/ExchangeProvider';

/** Call ``handler`` with every event of ``stream`` (none while ``stream`` is null). */
export function useStream<T>(stream: string | null, handler: (data: T) => void): void {
  const { socket } = useExchange();
  const latest = useRef(handler);
  useEffect(() => {
    latest.current = handler;
  });
  useEffect(() => {
    if (!stream) return;
    return socket.subscribe(stream, (data) => latest.current(data as T));
  }, [socket, stream]);
}
