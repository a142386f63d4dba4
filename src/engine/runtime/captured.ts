// Graph-captured sessions (WebGPU): onnxruntime records the GPU commands of one run and replays them, so a run
// costs its kernels' GPU time and almost none of the per-kernel CPU dispatch that dominates our many-kernel
// training graphs (a 4×128 train step on an H200: ~60 ms of kernels, ~220 ms uncaptured).
//
// What capture asks of a session, met here:
// - every input and output is a GPU buffer bound once: this class owns one ORT-allocated buffer per input and
//   output (device.ts says why ORT's own) and writes each run's feeds into them; weights come from the WeightStore,
//   whose buffers are ORT's too;
// - shapes never change: the first run fixes every input's shape (the session is made then, with those shapes in
//   the file, so that onnxruntime folds the shape arithmetic that would otherwise run on the CPU — capture wants
//   every node on the GPU); a later run with other shapes is refused (callers pad to fixed shapes and keep one
//   captured graph per shape);
// - int64 inputs are declared int32 and widened in the graph (serialize's int32Inputs): the EP narrows an int64
//   buffer when it binds it, which a captured graph does once.

import type * as OrtNS from 'onnxruntime-web';
import { BYTES_PER_ELEMENT, type DType, type TypedArray } from '../dtype';
import type { Graph, TensorData, Value } from '../ir';
import { serialize } from '../onnx/serialize';
import type { Backend } from './backend';
import { allocGpu, createSession, type GpuSlot } from './device';
import { requireFeeds, runtimeInputNames, writeGpu, type WeightStore } from './session';

type OrtTensor = OrtNS.Tensor;

interface Slot {
  gpu: GpuSlot;
  tensor: OrtTensor;
  dtype: DType;
  dims: number[];
}

/** element types a captured graph's buffers may hold (int64 inputs arrive narrowed to int32) */
const CAPTURABLE = new Set<DType>(['float32', 'int32', 'float16', 'uint8', 'bool']);

export class CapturedGraph {
  private session: OrtNS.InferenceSession | undefined;
  private inputSlots = new Map<string, Slot>();
  private outputSlots = new Map<string, Slot>();
  private weightFeeds: Record<string, OrtTensor> = {};
  private staging: GPUBuffer | undefined;
  private device: GPUDevice | undefined;

  private constructor(
    readonly backend: Backend,
    private readonly graph: Graph,
    readonly inputs: Value[],
    readonly outputs: Value[],
    private readonly weights: { name: string; key: string }[],
    private readonly store: WeightStore | undefined,
  ) {}

  /** The session is made at the first run, when the feeds fix the shapes. */
  static async create(backend: Backend, g: Graph, store?: WeightStore): Promise<CapturedGraph> {
    if (backend.kind !== 'webgpu') throw new Error('graph capture needs the WebGPU backend');
    const s = serialize(g);
    const weightInputs = g.inputs.filter((i) => i.kind === 'weight' && s.inputs.includes(i.value));
    if (weightInputs.length && !store) throw new Error('graph uses weights but no WeightStore was given');
    for (const o of s.outputs) if (!CAPTURABLE.has(o.dtype)) throw new Error(`captured graphs cannot return ${o.dtype} outputs (${o.name})`);
    const w = weightInputs.map((x) => ({ name: x.value.name, key: x.key! }));
    return new CapturedGraph(backend, g, s.inputs, s.outputs, w, store);
  }

  get feedNames(): string[] {
    return runtimeInputNames(this.inputs, this.weights);
  }

  /** The shapes the first run fixed (undefined before it). */
  get shapes(): Record<string, number[]> | undefined {
    if (!this.session) return undefined;
    return Object.fromEntries([...this.inputSlots].map(([k, s]) => [k, s.dims]));
  }

  async run(feeds: Record<string, TensorData>): Promise<Record<string, TensorData>> {
    const ort = this.backend.ort;
    const device = (await (ort.env.webgpu as unknown as { device: Promise<GPUDevice> | GPUDevice }).device) as GPUDevice;
    if (this.device && this.device !== device) throw new Error('the GPU device changed under a captured graph (device lost?): build it again');
    this.device = device;
    requireFeeds(this.feedNames, feeds);
    const session = this.session ?? (await this.open(feeds));
    for (const name of this.feedNames) {
      const f = feeds[name]!;
      const slot = this.inputSlots.get(name)!;
      if (f.shape.length !== slot.dims.length || f.shape.some((x, i) => x !== slot.dims[i])) {
        throw new Error(`captured graph: input ${name} was recorded as [${slot.dims}], got [${f.shape}] (shapes of a captured graph are fixed)`);
      }
      writeGpu(device, slot.gpu.buffer, f.dtype === 'int64' ? narrow(name, f.data as BigInt64Array) : f.data);
    }
    const inputs: Record<string, OrtTensor> = { ...this.weightFeeds };
    for (const [k, s] of this.inputSlots) inputs[k] = s.tensor;
    const fetches: Record<string, OrtTensor> = {};
    for (const [k, s] of this.outputSlots) fetches[k] = s.tensor;
    try {
      await session.run(inputs, fetches);
    } catch (e) {
      throw new Error(`captured graph run failed on webgpu: ${(e as Error).message}`);
    }
    return this.read(device);
  }

  /** the session for these feeds' shapes (fixed in the file, so ORT folds the shape arithmetic), and the buffers */
  private async open(feeds: Record<string, TensorData>): Promise<OrtNS.InferenceSession> {
    const dims: Record<string, number> = {};
    for (const v of this.inputs) {
      const f = feeds[v.name];
      if (!f) continue; // weights
      if (f.shape.length !== v.rank) throw new Error(`input ${v.name}: rank ${f.shape.length}, the graph wants [${v.shape}]`);
      v.shape.forEach((d, i) => {
        if (typeof d === 'string') dims[d] = f.shape[i]!;
        else if (d !== f.shape[i]) throw new Error(`input ${v.name}: dimension ${i} is ${f.shape[i]}, the graph wants ${d}`);
      });
    }
    const s = serialize(this.graph, { outputs: this.outputs, int32Inputs: true, fixDims: dims });
    let session: OrtNS.InferenceSession;
    try {
      session = await createSession(this.backend.ort, s.bytes, {
        // the object form: onnxruntime-web hands enableGraphCapture to the EP only when the EP is given as an object
        executionProviders: [{ name: 'webgpu' }],
        graphOptimizationLevel: this.backend.graphOptimizationLevel ?? 'all',
        enableGraphCapture: true,
      });
    } catch (e) {
      throw new Error(`onnxruntime could not load the graph for capture on webgpu: ${(e as Error).message}`);
    }
    for (const v of this.inputs) {
      const f = feeds[v.name];
      if (!f) continue;
      const dtype: DType = f.dtype === 'int64' ? 'int32' : f.dtype;
      if (!CAPTURABLE.has(dtype)) throw new Error(`captured graphs cannot take ${f.dtype} inputs (${v.name})`);
      this.inputSlots.set(v.name, await this.slot(dtype, f.shape));
    }
    for (const w of this.weights) this.weightFeeds[w.name] = await this.store!.tensor(w.key);
    for (const o of this.outputs) {
      const od = o.shape.map((d) => {
        const n = typeof d === 'number' ? d : dims[d];
        if (n === undefined) throw new Error(`captured graph: the size of output ${o.name}'s dimension ${d} is not fixed by the inputs`);
        return n;
      });
      this.outputSlots.set(o.name, await this.slot(o.dtype, od));
    }
    this.session = session;
    return session;
  }

  private async slot(dtype: DType, dims: number[]): Promise<Slot> {
    const n = dims.reduce((a, b) => a * b, 1);
    const gpu = await allocGpu(this.backend.ort, Math.max(1, n * BYTES_PER_ELEMENT[dtype]));
    return { gpu, dtype, dims, tensor: this.backend.ort.Tensor.fromGpuBuffer(gpu.buffer, { dataType: dtype as 'float32', dims }) };
  }

  /** every output in one copy to a mappable buffer */
  private async read(device: GPUDevice): Promise<Record<string, TensorData>> {
    const total = [...this.outputSlots.values()].reduce((a, s) => a + s.gpu.bytes, 0);
    if (!this.staging || this.staging.size < total) {
      this.staging?.destroy();
      // eslint-disable-next-line no-undef
      this.staging = device.createBuffer({ size: total, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    }
    const enc = device.createCommandEncoder();
    let off = 0;
    for (const s of this.outputSlots.values()) {
      enc.copyBufferToBuffer(s.gpu.buffer, 0, this.staging, off, s.gpu.bytes);
      off += s.gpu.bytes;
    }
    device.queue.submit([enc.finish()]);
    // eslint-disable-next-line no-undef
    await this.staging.mapAsync(GPUMapMode.READ, 0, total);
    const bytes = new Uint8Array(this.staging.getMappedRange(0, total).slice(0));
    this.staging.unmap();
    const out: Record<string, TensorData> = {};
    off = 0;
    for (const [k, s] of this.outputSlots) {
      out[k] = { dtype: s.dtype, shape: s.dims, data: view(s.dtype, bytes.buffer, off, s.dims) };
      off += s.gpu.bytes;
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session?.release();
    this.session = undefined;
    for (const s of [...this.inputSlots.values(), ...this.outputSlots.values()]) s.gpu.release();
    this.inputSlots.clear();
    this.outputSlots.clear();
    this.staging?.destroy();
    this.staging = undefined;
  }
}

function narrow(name: string, data: BigInt64Array): Int32Array {
  const out = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    if (x > 2147483647n || x < -2147483648n) throw new Error(`captured graph: input ${name}[${i}] = ${x} does not fit int32`);
    out[i] = Number(x);
  }
  return out;
}

function view(dtype: DType, buf: ArrayBuffer, off: number, dims: number[]): TypedArray {
  const n = dims.reduce((a, b) => a * b, 1);
  switch (dtype) {
    case 'float32':
      return new Float32Array(buf, off, n);
    case 'int32':
      return new Int32Array(buf, off, n);
    case 'float16':
      return new Uint16Array(buf, off, n) as unknown as TypedArray;
    default:
      return new Uint8Array(buf, off, n);
  }
}
