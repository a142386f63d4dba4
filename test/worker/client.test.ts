// The UI's worker client: progress reaches the caller, results and errors settle the right promise, errors keep
// {message, where}, cancel() sends a cancel for that job, and a dead worker rejects everything pending.

import { describe, expect, it } from 'vitest';
import { LabClient, LabError, type WorkerLike } from '../../src/worker/client';
import { DEVICE_LOST_HINT, toWireError } from '../../src/worker/errors';
import type { FromWorker, ToWorker } from '../../src/worker/protocol';

class FakeWorker implements WorkerLike {
  sent: ToWorker[] = [];
  private onMessage?: (e: MessageEvent<FromWorker>) => void;
  private onError?: (e: ErrorEvent) => void;
  postMessage(m: unknown): void {
    this.sent.push(m as ToWorker);
  }
  addEventListener(type: 'message' | 'error', fn: (e: never) => void): void {
    if (type === 'message') this.onMessage = fn as (e: MessageEvent<FromWorker>) => void;
    else this.onError = fn as (e: ErrorEvent) => void;
  }
  terminate(): void {}
  reply(m: FromWorker): void {
    this.onMessage!({ data: m } as MessageEvent<FromWorker>);
  }
  crash(message: string): void {
    this.onError!({ message } as ErrorEvent);
  }
}

describe('LabClient', () => {
  it('delivers progress, then the result, to the job that asked', async () => {
    const w = new FakeWorker();
    const c = new LabClient(w);
    const seen: unknown[] = [];
    const a = c.call('fineweb', { n: 5, source: 'hub' }, { onProgress: (p) => seen.push(p) });
    const b = c.call('cacheList', {});
    expect(w.sent.map((m) => m.kind === 'request' && m.type)).toEqual(['fineweb', 'cacheList']);
    w.reply({ kind: 'progress', id: a.id, progress: { got: 2, wanted: 5 } });
    w.reply({ kind: 'result', id: b.id, result: { repos: [] } });
    w.reply({ kind: 'result', id: a.id, result: { count: 5, fromCache: false, preview: [], meanChars: 10 } });
    await expect(b.promise).resolves.toEqual({ repos: [] });
    await expect(a.promise).resolves.toMatchObject({ count: 5 });
    expect(seen).toEqual([{ got: 2, wanted: 5 }]);
  });

  it('rejects with a LabError that keeps message and where; cancel sends the job id', async () => {
    const w = new FakeWorker();
    const c = new LabClient(w);
    const job = c.call('train', { runId: 'general', settings: {} as never });
    job.cancel();
    expect(w.sent.at(-1)).toEqual({ kind: 'cancel', id: job.id });
    w.reply({ kind: 'error', id: job.id, error: { message: 'cancelled', where: 'train: training', name: 'AbortError' } });
    const e = (await job.promise.catch((x) => x)) as LabError;
    expect(e).toBeInstanceOf(LabError);
    expect([e.message, e.where, e.cancelled]).toEqual(['cancelled', 'train: training', true]);
  });

  it('rejects every pending job when the worker script dies', async () => {
    const w = new FakeWorker();
    const c = new LabClient(w);
    const jobs = [c.call('cacheList', {}), c.call('cacheList', {})];
    w.crash('SyntaxError: x');
    for (const j of jobs) await expect(j.promise).rejects.toThrow(/the lab worker stopped: SyntaxError: x/);
  });
});

describe('toWireError', () => {
  it('names cancellations, keeps messages, and turns a lost device into what to do next', () => {
    expect(toWireError(new DOMException('x', 'AbortError'), 'train')).toEqual({ message: 'cancelled', where: 'train', name: 'AbortError' });
    expect(toWireError(new Error('HTTP 404'), 'loadModel: download')).toEqual({ message: 'HTTP 404', where: 'loadModel: download' });
    const lost = toWireError(new Error('graph run failed on webgpu: Device was lost'), 'train: training');
    expect(lost.name).toBe('DeviceLost');
    expect(lost.message.startsWith(DEVICE_LOST_HINT)).toBe(true);
  });
});
