import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { MarketSocket } from '@/lib/socket';

/** A stand-in for the browser's WebSocket: records what is sent, lets the test play the server. */
class FakeWebSocket {
  static readonly OPEN = 1;
  static instances: FakeWebSocket[] = [];
  readyState = 0;
  sent: { method: string; params: unknown; id: number }[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((message: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;

  constructor(readonly url: string) {
    FakeWebSocket.instances.push(this);
  }

  send(text: string) {
    this.sent.push(JSON.parse(text));
  }

  close() {
    this.readyState = 3;
    this.onclose?.();
  }

  open() {
    this.readyState = FakeWebSocket.OPEN;
    this.onopen?.();
  }

  receive(message: unknown) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }

  methods() {
    return this.sent.map((m) => `${m.method} ${JSON.stringify(m.params)}`);
  }
}

const latest = () => FakeWebSocket.instances[FakeWebSocket.instances.length - 1];

describe('MarketSocket', () => {
  beforeEach(() => {
    FakeWebSocket.instances = [];
    vi.stubGlobal('WebSocket', FakeWebSocket);
    vi.useFakeTimers();
  });

  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('subscribes once per stream, routes events, unsubscribes with the last handler', () => {
    const socket = new MarketSocket('ws://x/');
    socket.start();
    const a = vi.fn();
    const b = vi.fn();
    const stopA = socket.subscribe('trade@TATA-INR', a);
    const stopB = socket.subscribe('trade@TATA-INR', b);
    latest().open();
    expect(latest().methods()).toEqual(['SUBSCRIBE ["trade@TATA-INR"]']);
    latest().receive({ stream: 'trade@TATA-INR', data: { price: '1.00' } });
    latest().receive({ stream: 'depth@TATA-INR', data: {} });
    expect(a).toHaveBeenCalledWith({ price: '1.00' });
    expect(b).toHaveBeenCalledTimes(1);
    stopA();
    expect(latest().methods()).toHaveLength(1);
    stopB();
    expect(latest().methods()[1]).toBe('UNSUBSCRIBE ["trade@TATA-INR"]');
  });

  it('subscribes to orders only after AUTH succeeded', () => {
    const socket = new MarketSocket('ws://x/');
    socket.start();
    socket.setApiKey('key-1');
    socket.subscribe('orders', vi.fn());
    latest().open();
    expect(latest().methods()).toEqual(['AUTH {"apiKey":"key-1"}']);
    latest().receive({ id: latest().sent[0].id, result: null });
    expect(latest().methods()[1]).toBe('SUBSCRIBE ["orders"]');
  });

  it('does not subscribe to orders when AUTH fails', () => {
    const socket = new MarketSocket('ws://x/');
    socket.start();
    socket.setApiKey('bad');
    socket.subscribe('orders', vi.fn());
    latest().open();
    latest().receive({ id: latest().sent[0].id, error: { code: 'UNAUTHORIZED', message: 'no' } });
    expect(latest().methods()).toEqual(['AUTH {"apiKey":"bad"}']);
  });

  it('reconnects after a lost connection and subscribes to every stream again', () => {
    const socket = new MarketSocket('ws://x/');
    const statuses: string[] = [];
    socket.onStatus((s) => statuses.push(s));
    socket.start();
    socket.subscribe('depth@TATA-INR', vi.fn());
    latest().open();
    latest().close();
    expect(FakeWebSocket.instances).toHaveLength(1);
    vi.advanceTimersByTime(300);
    expect(FakeWebSocket.instances).toHaveLength(2);
    latest().open();
    expect(latest().methods()).toEqual(['SUBSCRIBE ["depth@TATA-INR"]']);
    expect(statuses).toEqual(['connecting', 'open', 'closed', 'connecting', 'open']);
  });

  it('resubscribe asks for a fresh snapshot of a stream it follows', () => {
    const socket = new MarketSocket('ws://x/');
    socket.start();
    socket.subscribe('depth@TATA-INR', vi.fn());
    latest().open();
    socket.resubscribe('depth@TATA-INR');
    socket.resubscribe('depth@INFY-INR'); // not followed: nothing
    expect(latest().methods()).toEqual(['SUBSCRIBE ["depth@TATA-INR"]', 'SUBSCRIBE ["depth@TATA-INR"]']);
  });

  it('a new key on an authenticated connection reconnects (the server has no de-AUTH)', () => {
    const socket = new MarketSocket('ws://x/');
    socket.start();
    socket.setApiKey('key-1');
    latest().open();
    socket.setApiKey(null);
    expect(latest().readyState).toBe(3);
    vi.advanceTimersByTime(300);
    latest().open();
    expect(latest().methods()).toEqual([]);
  });

  it('stop() closes for good', () => {
    const socket = new MarketSocket('ws://x/');
    socket.start();
    latest().open();
    socket.stop();
    vi.advanceTimersByTime(10_000);
    expect(FakeWebSocket.instances).toHaveLength(1);
  });
});
