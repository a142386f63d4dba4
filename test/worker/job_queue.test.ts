// The worker's scheduling (job_queue.ts): exclusive jobs run one at a time in arrival order while light jobs
// start at once, a job cancelled while it waits never starts, a failure does not block the queue, and the
// device watch tells a lost device from onnxruntime destroying its own.

import { describe, expect, it } from 'vitest';
import { JobQueue, watchDeviceLoss } from '../../src/worker/job_queue';

/** A job that records when it starts and ends, and finishes when `release()` is called. */
function gated(log: string[], name: string) {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return {
    release: () => release(),
    job: async (signal: AbortSignal) => {
      log.push(`start ${name}`);
      await done;
      log.push(`end ${name}${signal.aborted ? ' (aborted)' : ''}`);
      return name;
    },
  };
}
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('JobQueue', () => {
  it('runs exclusive jobs one at a time in arrival order; a light job starts at once', async () => {
    const q = new JobQueue();
    const log: string[] = [];
    const a = gated(log, 'train');
    const b = gated(log, 'efficiency');
    const c = gated(log, 'cacheList');
    const pa = q.run(1, true, a.job);
    const pb = q.run(2, true, b.job);
    const pc = q.run(3, false, c.job);
    await tick();
    expect([...log].sort()).toEqual(['start cacheList', 'start train']);
    c.release();
    await pc;
    b.release(); // released early: still may not start before train ends
    await tick();
    expect(log.slice(2)).toEqual(['end cacheList']);
    a.release();
    expect(await pa).toBe('train');
    expect(await pb).toBe('efficiency');
    expect(log.slice(2)).toEqual(['end cacheList', 'end train', 'start efficiency', 'end efficiency']);
    expect(q.pending()).toEqual([]);
  });

  it('a job cancelled before it starts never runs; a running job sees its signal abort', async () => {
    const q = new JobQueue();
    const log: string[] = [];
    const a = gated(log, 'train');
    const b = gated(log, 'generate');
    const pa = q.run(1, true, a.job);
    const pb = q.run(2, true, b.job);
    await tick(); // train has started, generate waits behind it
    q.cancel(2);
    q.cancel(1);
    a.release();
    expect(await pa).toBe('train');
    await expect(pb).rejects.toMatchObject({ name: 'AbortError' });
    expect(log).toEqual(['start train', 'end train (aborted)']);
    q.cancel(99); // unknown ids are ignored
    // cancelled before its turn even came: never started
    const pc = q.run(3, true, async () => 'never');
    q.cancel(3);
    await expect(pc).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('a failed exclusive job does not stop the jobs queued after it', async () => {
    const q = new JobQueue();
    const failed = q.run(1, true, async () => {
      throw new Error('out of memory');
    });
    const next = q.run(2, true, async () => 'ran');
    await expect(failed).rejects.toThrow('out of memory');
    expect(await next).toBe('ran');
  });
});

describe('watchDeviceLoss', () => {
  it('reports a lost device, and a deliberate destroy() separately', async () => {
    const lost: string[] = [];
    const destroyed: string[] = [];
    const device = (reason: string, message: string) => ({ lost: Promise.resolve({ reason, message } as GPUDeviceLostInfo) });
    await watchDeviceLoss(device('unknown', 'driver reset'), (i) => lost.push(`${i.reason}: ${i.message}`), (m) => destroyed.push(m));
    await watchDeviceLoss(device('destroyed', 'released by onnxruntime'), (i) => lost.push(i.message), (m) => destroyed.push(m));
    expect(lost).toEqual(['unknown: driver reset']);
    expect(destroyed).toEqual(['released by onnxruntime']);
  });
});
