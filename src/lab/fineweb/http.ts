// JSON over HTTP for the FineWeb sources: errors name the URL and the status, 429/5xx are retried with backoff.

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

function wait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason ?? new Error('aborted'));
    }, { once: true });
  });
}

export async function fetchJson(url: string, opts: HttpOptions = {}): Promise<unknown> {
  const doFetch = opts.fetch ?? globalThis.fetch;
  const retries = opts.retries ?? 2;
  let delay = opts.retryDelayMs ?? 1000;
  for (let attempt = 0; ; attempt++) {
    let retryable: string;
    try {
      const res = await doFetch(url, { signal: opts.signal });
      const text = await res.text();
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
      if (res.status !== 429 && res.status < 500) throw new Error(msg);
      retryable = msg;
    } catch (e) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? e;
      if (!(e instanceof TypeError)) throw e; // our own errors above; fetch signals network failure with TypeError
      retryable = `cannot fetch ${url}: ${e.message}`;
    }
    if (attempt >= retries) throw new Error(retryable + (retries > 0 ? ` (after ${retries + 1} attempts)` : ''));
    await wait(delay, opts.signal);
    delay *= 2;
  }
}
