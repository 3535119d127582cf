/**
 * Where the services are, read at run time from `/config.json` (served by the API next to this UI), so
 * one build works behind any host name. Without it: the API on this origin, the WebSocket on this host's
 * port 8001 (docs/api.md defaults).
 */

export interface AppConfig {
  apiBase: string; // e.g. "/api/v1" or "http://host:8000/api/v1", no trailing slash
  wsUrl: string; // e.g. "ws://host:8001/"
}

export function defaultConfig(location: { protocol: string; hostname: string }): AppConfig {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return { apiBase: '/api/v1', wsUrl: `${scheme}://${location.hostname}:8001/` };
}

/** The configuration document merged over the defaults; bad or missing fields keep the default. */
export function parseConfig(document: unknown, fallback: AppConfig): AppConfig {
  if (typeof document !== 'object' || document === null) return fallback;
  const { apiBase, wsUrl } = document as Record<string, unknown>;
  return {
    apiBase: typeof apiBase === 'string' && apiBase ? apiBase.replace(/\/+$/, '') : fallback.apiBase,
    wsUrl: typeof wsUrl === 'string' && wsUrl ? wsUrl : fallback.wsUrl,
  };
}

export async function loadConfig(): Promise<AppConfig> {
  const fallback = defaultConfig(window.location);
  try {
    const response = await fetch('/config.json', { cache: 'no-store' });
    if (!response.ok) return fallback;
    return parseConfig(await response.json(), fallback);
  } catch {
    return fallback;
  }
}
