/**
 * One WebSocket to the exchange shared by the whole page (docs/api.md, WebSocket).
 *
 * Components subscribe to a stream with a handler; the first handler of a stream sends SUBSCRIBE, the
 * last one leaving sends UNSUBSCRIBE. After a lost connection it reconnects with backoff, sends AUTH
 * again when a key is set, then SUBSCRIBEs every stream again: each depth subscriber gets a fresh
 * snapshot, which replaces its book.
 */

export type StreamHandler = (data: unknown) => void;
export type SocketStatus = 'connecting' | 'open' | 'closed';

interface Reply {
  id: number | null;
  result?: unknown;
  error?: { code: string; message: string };
}

const PRIVATE_STREAMS = new Set(['orders']);

export class MarketSocket {
  private ws: WebSocket | null = null;
  private readonly handlers = new Map<string, Set<StreamHandler>>();
  private readonly statusListeners = new Set<(status: SocketStatus) => void>();
  private readonly pending = new Map<number, (reply: Reply) => void>();
  private apiKey: string | null = null;
  private authed = false;
  private nextId = 1;
  private attempts = 0;
  private stopped = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  status: SocketStatus = 'closed';

  constructor(private readonly url: string) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.ws?.close();
    this.ws = null;
  }

  onStatus(listener: (status: SocketStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** Call ``handler`` with the data of every event of ``stream`` until the returned function is called. */
  subscribe(stream: string, handler: StreamHandler): () => void {
    let set = this.handlers.get(stream);
    if (!set) {
      set = new Set();
      this.handlers.set(stream, set);
      this.sendSubscribe([stream]);
    }
    set.add(handler);
    return () => {
      const current = this.handlers.get(stream);
      if (!current) return;
      current.delete(handler);
      if (current.size === 0) {
        this.handlers.delete(stream);
        if (this.isOpen() && (!PRIVATE_STREAMS.has(stream) || this.authed)) {
          this.send('UNSUBSCRIBE', [stream]);
        }
      }
    };
  }

  /** SUBSCRIBE again: the server answers a depth stream with a fresh snapshot (after a sequence gap). */
  resubscribe(stream: string): void {
    if (this.handlers.has(stream)) this.sendSubscribe([stream]);
  }

  /** Authenticate for the `orders` stream; a different key (or none) reconnects to drop the old one. */
  setApiKey(apiKey: string | null): void {
    if (apiKey === this.apiKey) return;
    const hadKey = this.apiKey !== null;
    this.apiKey = apiKey;
    this.authed = false;
    if (hadKey) {
      this.ws?.close(); // the server has no de-AUTH: a fresh connection forgets the old user
    } else if (this.isOpen() && apiKey) {
      this.authenticate();
    }
  }

  private isOpen(): boolean {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  private setStatus(status: SocketStatus): void {
    this.status = status;
    for (const listener of this.statusListeners) listener(status);
  }

  private connect(): void {
    this.setStatus('connecting');
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.attempts = 0;
      this.setStatus('open');
      const publicStreams = [...this.handlers.keys()].filter((s) => !PRIVATE_STREAMS.has(s));
      if (publicStreams.length) this.send('SUBSCRIBE', publicStreams);
      if (this.apiKey) this.authenticate();
    };
    ws.onmessage = (message) => this.receive(message.data);
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.authed = false;
      this.pending.clear();
      this.setStatus('closed');
      if (!this.stopped) this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    const delay = Math.min(5000, 250 * 2 ** this.attempts);
    this.attempts += 1;
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private authenticate(): void {
    const key = this.apiKey;
    this.send('AUTH', { apiKey: key }, (reply) => {
      if (reply.error || key !== this.apiKey) return;
      this.authed = true;
      const privateStreams = [...this.handlers.keys()].filter((s) => PRIVATE_STREAMS.has(s));
      if (privateStreams.length) this.send('SUBSCRIBE', privateStreams);
    });
  }

  private sendSubscribe(streams: string[]): void {
    if (!this.isOpen()) return; // sent on open
    const ready = streams.filter((s) => !PRIVATE_STREAMS.has(s) || this.authed);
    if (ready.length) this.send('SUBSCRIBE', ready);
  }

  private send(method: string, params: unknown, onReply?: (reply: Reply) => void): void {
    if (!this.ws || !this.isOpen()) return;
    const id = this.nextId++;
    if (onReply) this.pending.set(id, onReply);
    this.ws.send(JSON.stringify({ method, params, id }));
  }

  private receive(raw: unknown): void {
    if (typeof raw !== 'string') return;
    let message: { stream?: string; data?: unknown } & Reply;
    try {
      message = JSON.parse(raw);
    } catch {
      return;
    }
    if (typeof message.stream === 'string') {
      for (const handler of this.handlers.get(message.stream) ?? []) handler(message.data);
      return;
    }
    if (typeof message.id === 'number') {
      const callback = this.pending.get(message.id);
      this.pending.delete(message.id);
      callback?.(message);
    }
  }
}
