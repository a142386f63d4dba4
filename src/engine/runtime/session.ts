// Compiled graphs and the weight store they share.
// Weights are graph inputs, so every session built over one model feeds the same tensors: on WebGPU each weight
// is uploaded once into a GPU buffer and handed to every session; on wasm the same CPU tensor object is reused
// (ORT copies inputs into the wasm heap per run, but no session keeps its own copy).

import type * as OrtNS from 'onnxruntime-web';
import type { DType, TypedArray } from '../dtype';
import type { Graph, TensorData, Value } from '../ir';
import { serialize } from '../onnx/serialize';
import type { Backend } from './backend';
import { allocGpu, createSession, type GpuSlot } from './device';

type OrtTensor = OrtNS.Tensor;

export interface WeightEntry {
  dtype: DType;
  dims: number[];
  data: TypedArray;
}

export class WeightStore {
  private entries = new Map<string, WeightEntry>();
  private tensors = new Map<string, OrtTensor>();
  private gpuSlots: GpuSlot[] = [];
  private device: GPUDevice | undefined;

  constructor(readonly backend: Backend) {}

  set(key: string, dtype: DType, dims: number[], data: TypedArray): void {
    if (this.entries.has(key)) throw new Error(`weight ${key} set twice`);
    const n = dims.reduce((a, b) => a * b, 1);
    if (data.length !== n) throw new Error(`weight ${key}: [${dims}] needs ${n} elements, got ${data.length}`);
    this.entries.set(key, { dtype, dims, data });
  }

  entry(key: string): WeightEntry {
    const e = this.entries.get(key);
    if (!e) throw new Error(`weight ${key} is not in the store`);
    return e;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  get keys(): string[] {
    return [...this.entries.keys()];
  }

  /** bytes held by the store (one copy, whatever the number of sessions) */
  get bytes(): number {
    let s = 0;
    for (const e of this.entries.values()) s += e.data.byteLength;
    return s;
  }

  /** The ORT tensor feeding weight `key`, created (and on WebGPU uploaded) on first use. */
  async tensor(key: string): Promise<OrtTensor> {
    const ort = this.backend.ort;
    let device: GPUDevice | undefined;
    if (this.backend.kind === 'webgpu') {
      device = (await (ort.env.webgpu as unknown as { device: Promise<GPUDevice> | GPUDevice }).device) as GPUDevice;
      // buffers belong to one device: if ORT has moved to another (device lost, or recreated), upload again
      if (this.device && device !== this.device) this.dispose();
      this.device = device;
    }
    const t = this.tensors.get(key);
    if (t) return t;
    const e = this.entries.get(key);
    if (!e) throw new Error(`weight ${key} is not in the store`);
    let out: OrtTensor;
    if (device) {
      // an ORT-owned buffer (device.ts): graph-captured sessions bind weights once and replay them
      const slot = await allocGpu(ort, e.data.byteLength);
      writeGpu(device, slot.buffer, e.data);
      this.gpuSlots.push(slot);
      out = ort.Tensor.fromGpuBuffer(slot.buffer, { dataType: e.dtype as 'float32', dims: e.dims });
    } else {
      out = new ort.Tensor(e.dtype as 'float32', e.data as Float32Array, e.dims);
    }
    this.tensors.set(key, out);
    return out;
  }

  dispose(): void {
    for (const b of this.gpuSlots) b.release();
    this.gpuSlots = [];
    this.tensors.clear();
  }
}

/** queue.writeBuffer of a typed array's bytes, padded to the 4-byte multiple WebGPU requires. */
export function writeGpu(device: GPUDevice, buf: GPUBuffer, data: TypedArray): void {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const size = Math.ceil(bytes.byteLength / 4) * 4;
  if (size === bytes.byteLength) device.queue.writeBuffer(buf, 0, bytes as Uint8Array<ArrayBuffer>);
  else {
    const padded = new Uint8Array(size);
    padded.set(bytes);
    device.queue.writeBuffer(buf, 0, padded);
  }
}

export type Feed = TensorData | OrtTensor;

export interface CompileOptions {
  outputs?: Value[];
  /** keep these outputs on the GPU (WebGPU only), e.g. cached activations fed to another session */
  gpuOutputs?: string[];
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

export class CompiledGraph {
  private constructor(
    readonly backend: Backend,
    private readonly session: OrtNS.InferenceSession,
    readonly inputs: Value[],
    readonly outputs: Value[],
    private readonly weights: { name: string; key: string }[],
    private readonly store: WeightStore | undefined,
    /** size of the serialised ONNX model (no weights inside: they are inputs) */
    readonly modelBytes: number,
  ) {}

  static async create(backend: Backend, g: Graph, store?: WeightStore, opts: CompileOptions = {}): Promise<CompiledGraph> {
    const s = serialize(g, { outputs: opts.outputs });
    const weightInputs = g.inputs.filter((i) => i.kind === 'weight' && s.inputs.includes(i.value));
    if (weightInputs.length && !store) throw new Error('graph uses weights but no WeightStore was given');
    for (const w of weightInputs) if (!store!.has(w.key!)) throw new Error(`weight ${w.key} is used by the graph but missing from the store`);
    const ort = backend.ort;
    const sessionOpts: OrtNS.InferenceSession.SessionOptions = {
      executionProviders: [backend.kind],
      graphOptimizationLevel: opts.graphOptimizationLevel ?? backend.graphOptimizationLevel ?? 'all',
    };
    if (opts.gpuOutputs?.length && backend.kind === 'webgpu') {
      sessionOpts.preferredOutputLocation = Object.fromEntries(opts.gpuOutputs.map((n) => [n, 'gpu-buffer' as const]));
    }
    let session: OrtNS.InferenceSession;
    try {
      session = await createSession(ort, s.bytes, sessionOpts);
    } catch (e) {
      throw new Error(`onnxruntime could not load the graph on ${backend.kind}: ${(e as Error).message}`);
    }
    return new CompiledGraph(
      backend,
      session,
      s.inputs,
      s.outputs,
      weightInputs.map((w) => ({ name: w.value.name, key: w.key! })),
      store,
      s.bytes.byteLength,
    );
  }

  /** Names of the runtime inputs (weights excluded) this session needs. */
  get feedNames(): string[] {
    return runtimeInputNames(this.inputs, this.weights);
  }

  async run(feeds: Record<string, Feed>, fetch?: string[]): Promise<Record<string, TensorData>> {
    const raw = await this.runRaw(feeds, fetch);
    const out: Record<string, TensorData> = {};
    for (const [k, t] of Object.entries(raw)) out[k] = await toTensorData(t);
    return out;
  }

  /** Run and return ORT tensors as they come (GPU-resident ones stay on the GPU). */
  async runRaw(feeds: Record<string, Feed>, fetch?: string[]): Promise<Record<string, OrtTensor>> {
    const ort = this.backend.ort;
    const all: Record<string, OrtTensor> = {};
    requireFeeds(this.feedNames, feeds);
    for (const name of this.feedNames) {
      const f = feeds[name]!;
      if (f instanceof ort.Tensor) all[name] = f;
      else {
        const t = f as TensorData;
        all[name] = new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, t.shape);
      }
    }
    for (const w of this.weights) all[w.name] = await this.store!.tensor(w.key);
    const names = fetch ?? this.outputs.map((o) => o.name);
    try {
      return (await this.session.run(all, names)) as Record<string, OrtTensor>;
    } catch (e) {
      throw new Error(`graph run failed on ${this.backend.kind}: ${(e as Error).message}`);
    }
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Free a run's output if it is GPU-resident ('gpu-buffer' outputs live until disposed; CPU tensors and plain
 * TensorData are left to the garbage collector). Dispose before releasing the session that made it.
 */
export function disposeIfGpu(t: unknown): void {
  const x = t as { location?: string; dispose?: () => void } | null | undefined;
  if (x?.location === 'gpu-buffer') x.dispose?.();
}

export async function toTensorData(t: OrtTensor): Promise<TensorData> {
  const data = (t.location === 'cpu' || t.location === undefined ? t.data : await t.getData(true)) as TypedArray;
  return { dtype: t.type as DType, shape: [...t.dims], data };
}

/** The graph inputs a caller feeds: every serialized input that is not a weight from the store. */
export function runtimeInputNames(inputs: readonly { name: string }[], weights: readonly { name: string }[]): string[] {
  const w = new Set(weights.map((x) => x.name));
  return inputs.map((v) => v.name).filter((n) => !w.has(n));
}

/** Throws, naming every input the graph needs, when one of `names` is not in `feeds`. */
export function requireFeeds(names: readonly string[], feeds: Record<string, unknown>): void {
  for (const name of names) if (!feeds[name]) throw new Error(`missing input '${name}' (this graph needs: ${names.join(', ')})`);
}
