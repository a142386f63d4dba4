// JSON over HTTP for the FineWeb sources: errors name the URL and the status, 429/5xx are retried with backoff.

import { Retryable, withRetry } from '../retry';

export interface HttpOptions {
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** retries on 429, 5xx and network errors (default 2) */
  retries?: number;
  retryDelayMs?: number;
}

function snippet(text: string): string {
  const s = text.replace(/\s+/g, ' ').trim();
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

export async function fetchJson(url: string, opts: HttpOptions = {}): Promise<unknown> {
  const doFetch = opts.fetch ?? globalThis.fetch;
  return withRetry(
    async () => {
      let res: Response;
      let text: string;
      try {
        res = await doFetch(url, { signal: opts.signal });
        text = await res.text();
      } catch (e) {
        if (opts.signal?.aborted) throw opts.signal.reason ?? e;
        if (!(e instanceof TypeError)) throw e; // fetch signals a network failure with TypeError
        throw new Retryable(`cannot fetch ${url}: ${e.message}`);
      }
      if (res.ok) {
        try {
          return JSON.parse(text);
        } catch {
          throw new Error(`${url}: the response is not JSON: ${snippet(text) || '(empty)'}`);
        }
      }
      let detail = snippet(text);
      try {
        const e = (JSON.parse(text) as { error?: unknown }).error;
        if (typeof e === 'string') detail = e;
      } catch {
        /* keep the text */
      }
      const msg = `${url}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${detail ? ` (${detail})` : ''}`;
      if (res.status === 429 || res.status >= 500) throw new Retryable(msg);
      throw new Error(msg);
    },
    { retries: opts.retries ?? 2, delayMs: opts.retryDelayMs ?? 1000, signal: opts.signal },
  );
}
