// What the worker holds between jobs: the backend, the loaded model and tokenizer, the prepared data slots,
// FineWeb documents, and compiled evaluators/generators reused across jobs (compiling a graph costs seconds).
// Anything derived from the model or the data is dropped when either changes.

import type { Backend } from '../engine/runtime/backend';
import type { TokenizedRow } from '../lab/data';
import type { Generator } from '../lab/generate';
import type { KlEvaluator, LossEvaluator } from '../lab/sweeps/evaluator';
import type { LoadedModel } from '../models/model';
import type { ChatTokenizer } from '../models/tokenizer';
import type { ModelInfo } from './protocol';

interface Releasable {
  release(): Promise<void>;
}

export interface DataSlot {
  train: TokenizedRow[];
  heldOut: TokenizedRow[];
}

export class WorkerSession {
  backend: Backend | null = null;
  private ready: Promise<Backend>;
  private settle!: { resolve(b: Backend): void; reject(e: unknown): void };

  constructor() {
    this.ready = new Promise<Backend>((resolve, reject) => (this.settle = { resolve, reject }));
    // a failed start is reported by the init job itself; later jobs get the same error when they ask
    this.ready.catch(() => {});
  }

  setBackend(b: Backend): void {
    this.backend = b;
    this.settle.resolve(b);
  }

  failBackend(e: unknown): void {
    this.settle.reject(e);
  }
  model: LoadedModel | null = null;
  tokenizer: ChatTokenizer | null = null;
  info: ModelInfo | null = null;
  data: { train?: DataSlot; kl?: DataSlot } = {};
  finewebDocs: string[] = [];
  private derived = new Map<string, Promise<Releasable>>();

  /** The backend once the init job has picked it: jobs sent right after the page opens wait for it. */
  backend$(): Promise<Backend> {
    return this.ready;
  }

  requireModel(): { model: LoadedModel; tok: ChatTokenizer; info: ModelInfo } {
    if (!this.model || !this.tokenizer || !this.info) throw new Error('no model is loaded: load one in the Model panel first');
    return { model: this.model, tok: this.tokenizer, info: this.info };
  }

  requireData(slot: 'train' | 'kl'): DataSlot {
    const d = this.data[slot];
    if (!d || d.train.length === 0) {
      throw new Error(slot === 'train' ? 'no training data is loaded: load a dataset in the Data panel first' : 'no KL data is loaded: choose the KL data in the Data panel first');
    }
    return d;
  }

  /** An evaluator or generator keyed by what it depends on, built once. */
  derive<T extends Releasable>(key: string, make: () => Promise<T>): Promise<T> {
    let p = this.derived.get(key) as Promise<T> | undefined;
    if (!p) {
      p = make();
      this.derived.set(key, p);
      // a failed build must not poison the cache
      p.catch(() => this.derived.delete(key));
    }
    return p;
  }

  async dropDerived(prefix = ''): Promise<void> {
    const gone = [...this.derived].filter(([k]) => k.startsWith(prefix));
    for (const [k] of gone) this.derived.delete(k);
    await Promise.all(gone.map(([, p]) => p.then((x) => x.release()).catch(() => {})));
  }

  async setModel(model: LoadedModel, tok: ChatTokenizer, info: ModelInfo): Promise<void> {
    await this.dropModel();
    this.model = model;
    this.tokenizer = tok;
    this.info = info;
  }

  async dropModel(): Promise<void> {
    await this.dropDerived();
    this.model?.store.dispose();
    this.model = null;
    this.tokenizer = null;
    this.info = null;
    // token ids depend on the tokenizer
    this.data = {};
  }
}

export type LossEv = LossEvaluator;
export type KlEv = KlEvaluator;
export type Gen = Generator;
