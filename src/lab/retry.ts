// The lab's one retry loop and sleep, for calls to other servers (FineWeb rows, the judge, the CLI's downloads):
// an attempt that fails with a Retryable error is tried again after a delay that doubles each time; any other
// error, or a cancellation, ends at once. The last failure says how many attempts were made.

/** An error worth another attempt (429, 5xx, a network failure, a timeout). */
export class Retryable extends Error {}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(signal.reason ?? new Error('aborted'));
      },
      { once: true },
    );
  });
}

export interface RetryOptions {
  /** attempts after the first */
  retries: number;
  /** delay before the first retry; doubled before each next one */
  delayMs: number;
  signal?: AbortSignal;
}

export async function withRetry<T>(attempt: () => Promise<T>, opts: RetryOptions): Promise<T> {
  let delay = opts.delayMs;
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (e) {
      if (!(e instanceof Retryable)) throw e;
      if (i >= opts.retries) throw new Error(e.message + (opts.retries > 0 ? ` (after ${opts.retries + 1} attempts)` : ''), { cause: e.cause ?? e });
      await sleep(delay, opts.signal);
      delay *= 2;
    }
  }
}
