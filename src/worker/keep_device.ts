// onnxruntime-web's WebGPU EP owns the GPUDevice and releases it when its last session is released; the next
// session then gets a NEW device. The model's weights live in GPU buffers created once (WeightStore) on the
// first device, and a buffer of one device cannot be bound on another ("[Buffer] is associated with [Device],
// and cannot be used with [Device]"). Between jobs the worker has no session open (a training run releases its
// graph when it ends), so without this every job after the first would fail. Holding one trivial session for
// the worker's lifetime keeps the device, and with it the weights, alive.

import type { Backend } from '../engine/runtime/backend';
import { ONNX_DTYPE } from '../engine/dtype';
import { encodeModel } from '../engine/onnx/proto';

/** y = Identity(x), x float32 [1], opset 17: the smallest graph the WebGPU EP accepts. */
function identityModel(): Uint8Array {
  const vi = (name: string) => ({ name, type: { tensor_type: { elem_type: ONNX_DTYPE.float32, shape: { dim: [{ dim_value: 1 }] } } } });
  return encodeModel({
    ir_version: 8,
    opset_import: [{ domain: '', version: 17 }],
    producer_name: 'steerlab-keepalive',
    graph: { name: 'keepalive', node: [{ op_type: 'Identity', input: ['x'], output: ['y'], name: 'id' }], input: [vi('x')], output: [vi('y')] },
  });
}

let held: Promise<unknown> | undefined;

/** Opens the keep-alive session once (WebGPU only); never released. */
export function holdDevice(backend: Backend): Promise<unknown> {
  if (backend.kind !== 'webgpu') return Promise.resolve();
  held ??= backend.ort.InferenceSession.create(identityModel(), { executionProviders: ['webgpu'] }).catch((e: Error) => {
    held = undefined;
    throw new Error(`WebGPU did not start: ${e.message}`);
  });
  return held;
}
