// The one retry loop: Retryable failures are tried again with doubling delays, other errors end at once, the
// last failure counts the attempts, and a cancellation during the pause ends the wait.

import { describe, expect, it, vi } from 'vitest';
import { Retryable, sleep, withRetry } from '../../src/lab/retry';

describe('withRetry', () => {
  it('retries Retryable errors with doubling delays, then says how many attempts were made', async () => {
    vi.useFakeTimers();
    try {
      const times: number[] = [];
      const p = withRetry(async () => {
        times.push(Date.now());
        throw new Retryable('HTTP 503');
      }, { retries: 3, delayMs: 100 });
      const done = expect(p).rejects.toThrow('HTTP 503 (after 4 attempts)');
      await vi.runAllTimersAsync();
      await done;
      expect(times.slice(1).map((t, i) => t - times[i]!)).toEqual([100, 200, 400]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('returns the first success, and stops at once on an error that is not Retryable', async () => {
    let n = 0;
    await expect(withRetry(async () => (++n < 3 ? Promise.reject(new Retryable('busy')) : 'ok'), { retries: 5, delayMs: 1 })).resolves.toBe('ok');
    expect(n).toBe(3);
    n = 0;
    await expect(withRetry(async () => (n++, Promise.reject(new Error('HTTP 404'))), { retries: 5, delayMs: 1 })).rejects.toThrow(/^HTTP 404$/);
    expect(n).toBe(1);
  });

  it('a cancellation during the pause rejects with its reason', async () => {
    const ac = new AbortController();
    const p = withRetry(async () => Promise.reject(new Retryable('busy')), { retries: 2, delayMs: 10_000, signal: ac.signal });
    setTimeout(() => ac.abort(new DOMException('cancelled', 'AbortError')), 5);
    await expect(p).rejects.toThrow('cancelled');
    await expect(sleep(10, AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
  });
});
