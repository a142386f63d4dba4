// Three facts of onnxruntime-web's WebGPU EP that every session must respect, handled here once:
// - it creates one session at a time ("another WebGPU EP inference session is being created"), so session
//   creation goes through a queue;
// - it owns the GPUDevice and drops it when its last session is released; the next session gets a new device,
//   on which GPU buffers made for the old one (the WeightStore's weights) cannot be bound. A tiny anchor session
//   held for the backend's lifetime keeps the device, and with it the weights, alive;
// - a GPU buffer handed to a run as a tensor (Tensor.fromGpuBuffer) is registered with the EP for that run only
//   and unregistered after it, unless ORT allocated it itself: a graph-captured session binds its inputs once,
//   so its buffers (and the weights every session shares) must be ORT's own. The anchor session is therefore an
//   allocator: Expand(0, [n]) with its output kept on the GPU gives an ORT-owned, permanently registered buffer.

import type * as OrtNS from 'onnxruntime-web';
import { ONNX_DTYPE } from '../dtype';
import { encodeModel } from '../onnx/proto';
import type { Ort } from './backend';

const queues = new WeakMap<object, Promise<unknown>>();

/** InferenceSession.create, one at a time per ORT module. */
export function createSession(ort: Ort, bytes: Uint8Array, opts: OrtNS.InferenceSession.SessionOptions): Promise<OrtNS.InferenceSession> {
  const tail = queues.get(ort) ?? Promise.resolve();
  const next = tail.then(() => ort.InferenceSession.create(bytes, opts));
  queues.set(ort, next.catch(() => undefined));
  return next;
}

/** y = Expand(0f, n): float32 zeros [n], n int64 [1]. */
function allocatorModel(): Uint8Array {
  const dims = (d: (number | string)[]) => ({ dim: d.map((x) => (typeof x === 'number' ? { dim_value: x } : { dim_param: x })) });
  return encodeModel({
    ir_version: 8,
    opset_import: [{ domain: '', version: 17 }],
    producer_name: 'steerlab-anchor',
    graph: {
      name: 'anchor',
      node: [{ op_type: 'Expand', input: ['zero', 'n'], output: ['y'], name: 'alloc' }],
      initializer: [{ name: 'zero', dims: [], data_type: ONNX_DTYPE.float32, raw_data: new Uint8Array(4) }],
      input: [{ name: 'n', type: { tensor_type: { elem_type: ONNX_DTYPE.int64, shape: dims([1]) } } }],
      output: [{ name: 'y', type: { tensor_type: { elem_type: ONNX_DTYPE.float32, shape: dims(['n']) } } }],
    },
  });
}

const anchors = new WeakMap<object, Promise<OrtNS.InferenceSession>>();

/**
 * The never-released anchor session that keeps ORT's GPUDevice alive, opened once per ORT module (`fresh`: open
 * a new one, as a backend starting over after a lost device does).
 */
export function anchorWebGpuDevice(ort: Ort, fresh = false): Promise<OrtNS.InferenceSession> {
  let a = fresh ? undefined : anchors.get(ort);
  if (!a) {
    a = createSession(ort, allocatorModel(), { executionProviders: ['webgpu'], preferredOutputLocation: 'gpu-buffer' });
    anchors.set(ort, a);
    a.catch(() => anchors.delete(ort));
  }
  return a;
}

/** A zero-filled GPU buffer of at least `bytes` bytes (a multiple of 16) that ORT owns; release() gives it back. */
export interface GpuSlot {
  buffer: GPUBuffer;
  bytes: number;
  release(): void;
}

export async function allocGpu(ort: Ort, bytes: number): Promise<GpuSlot> {
  const anchor = await anchorWebGpuDevice(ort);
  const n = Math.max(4, Math.ceil(bytes / 16) * 4);
  const out = await anchor.run({ n: new ort.Tensor('int64', BigInt64Array.from([BigInt(n)]), [1]) });
  const t = out.y!;
  return { buffer: t.gpuBuffer as GPUBuffer, bytes: n * 4, release: () => t.dispose() };
}
