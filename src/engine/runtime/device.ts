// Two facts of onnxruntime-web's WebGPU EP that every session must respect, handled here once:
// - it creates one session at a time ("another WebGPU EP inference session is being created"), so session
//   creation goes through a queue;
// - it owns the GPUDevice and drops it when its last session is released; the next session gets a new device,
//   on which GPU buffers made for the old one (the WeightStore's weights) cannot be bound. A tiny anchor session
//   held for the backend's lifetime keeps the device, and with it the weights, alive.

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

/** y = Identity(x), x float32 [1]: the smallest graph the WebGPU EP accepts. */
function identityModel(): Uint8Array {
  const vi = (name: string) => ({ name, type: { tensor_type: { elem_type: ONNX_DTYPE.float32, shape: { dim: [{ dim_value: 1 }] } } } });
  return encodeModel({
    ir_version: 8,
    opset_import: [{ domain: '', version: 17 }],
    producer_name: 'steerlab-anchor',
    graph: { name: 'anchor', node: [{ op_type: 'Identity', input: ['x'], output: ['y'], name: 'id' }], input: [vi('x')], output: [vi('y')] },
  });
}

/** Opens the never-released anchor session that keeps ORT's GPUDevice alive. */
export function anchorWebGpuDevice(ort: Ort): Promise<OrtNS.InferenceSession> {
  return createSession(ort, identityModel(), { executionProviders: ['webgpu'] });
}
