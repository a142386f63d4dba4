// The worker's dispatch rules with the real queue policy (EXCLUSIVE) and session: a job that replaces what a
// running job uses waits for it; a lost device is reported at once but the model is freed only after the job
// running on it has ended; light jobs do not wait.

import { describe, expect, it } from 'vitest';
import { createDispatcher, type Handlers } from '../../src/worker/dispatch';
import type { LoadedModel } from '../../src/models/model';
import type { ChatTokenizer } from '../../src/models/tokenizer';
import type { FromWorker, JobType, ModelInfo } from '../../src/worker/protocol';
import { WorkerSession } from '../../src/worker/session';

/** a promise with its resolve, to hold a job open until the test lets it finish */
function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { p, open };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

function harness(handlers: Partial<Handlers>) {
  const session = new WorkerSession();
  const posted: FromWorker[] = [];
  const d = createDispatcher({ session, handlers: handlers as Handlers, post: (m) => posted.push(m) });
  let id = 0;
  const send = <T extends JobType>(type: T, req: unknown = {}) => {
    const n = ++id;
    d.receive({ kind: 'request', id: n, type, req } as never);
    return n;
  };
  const outcome = (n: number) => posted.find((m) => (m.kind === 'result' || m.kind === 'error') && m.id === n);
  return { session, posted, d, send, outcome };
}

describe('worker dispatch', () => {
  it('a FineWeb fetch waits until the running KL sweep no longer needs the evaluator it would free', async () => {
    const g = gate();
    const log: string[] = [];
    const h = harness({
      finewebKl: async (_req, ctx) => {
        const make = async () => {
          const ev = { released: false, release: async () => void ((ev.released = true), log.push('released')) };
          return ev;
        };
        const ev = await ctx.session.derive('kl|1|10|64', make);
        log.push('sweep starts');
        await g.p;
        log.push(ev.released ? 'sweep ends on a freed evaluator' : 'sweep ends');
        return {};
      },
      // what the real fineweb job does once its documents are in: drop the KL evaluators of the old ones
      fineweb: async (_req, ctx) => {
        await ctx.session.dropDerived('kl|');
        log.push('documents replaced');
        return { count: 1, fromCache: false, preview: [], meanChars: 1 };
      },
    });
    const kl = h.send('finewebKl');
    await tick();
    const fw = h.send('fineweb');
    await tick();
    expect(h.outcome(fw)).toBeUndefined();
    g.open();
    await h.d.idle();
    expect(log).toEqual(['sweep starts', 'sweep ends', 'released', 'documents replaced']);
    expect(h.outcome(kl)?.kind).toBe('result');
    expect(h.outcome(fw)?.kind).toBe('result');
  });

  it('clearing the file cache waits for a model download that writes to it', async () => {
    const g = gate();
    const log: string[] = [];
    const h = harness({
      loadModel: async () => {
        log.push('download starts');
        await g.p;
        log.push('download ends');
        return {} as ModelInfo;
      },
      cacheClear: async () => {
        log.push('cache cleared');
        return { removed: 0 };
      },
    });
    h.send('loadModel');
    await tick();
    h.send('cacheClear');
    await tick();
    g.open();
    await h.d.idle();
    expect(log).toEqual(['download starts', 'download ends', 'cache cleared']);
  });

  it('a lost device is reported at once; the weights are freed only after the running job has ended', async () => {
    const g = gate();
    const log: string[] = [];
    const h = harness({
      train: async () => {
        log.push('training');
        await g.p;
        log.push(h.session.model ? 'training ends with its model' : 'training ends without a model');
        return { state: {} as never, cancelled: false };
      },
    });
    const model = { store: { dispose: () => log.push('weights disposed') } } as unknown as LoadedModel;
    await h.session.setModel(model, {} as ChatTokenizer, {} as ModelInfo);
    h.send('train');
    await tick();
    const lost = h.d.deviceLost('unknown', 'GPU hung');
    await tick();
    expect(h.posted.find((m) => m.kind === 'event')).toMatchObject({ event: { type: 'device-lost', message: expect.stringMatching(/\(unknown: GPU hung\)$/) } });
    expect(log).toEqual(['training']);
    g.open();
    await lost;
    expect(log).toEqual(['training', 'training ends with its model', 'weights disposed']);
    expect(h.session.model).toBeNull();
  });

  it('light jobs run while an exclusive job holds the queue', async () => {
    const g = gate();
    const h = harness({
      train: async () => {
        await g.p;
        return { state: {} as never, cancelled: false };
      },
      cacheList: async () => ({ repos: [] }),
    });
    h.send('train');
    const list = h.send('cacheList');
    await tick();
    expect(h.outcome(list)).toMatchObject({ kind: 'result', result: { repos: [] } });
    g.open();
    await h.d.idle();
  });
});
