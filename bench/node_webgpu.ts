// The browser's runtime without a browser: onnxruntime-web's WebGPU build (the one the page loads) in Node, with
// navigator.gpu supplied by Dawn's Node binding (npm `webgpu`, dawn.node). Used by bench:gpu on GPU machines and
// by local runs over SwiftShader (VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json).

import { createBackend, type Backend, type Ort } from '../src/engine/runtime/backend';

export interface NodeWebGpuOptions {
  /** Dawn toggles / options, e.g. ['backend=vulkan'] */
  dawn?: string[];
  /** path of dawn.node when the `webgpu` package is not installed (GPU machines carry the binary alone) */
  dawnNode?: string;
}

export async function nodeWebGpuBackend(opts: NodeWebGpuOptions = {}): Promise<Backend> {
  let create: (o: string[]) => GPU;
  let globals: Record<string, unknown>;
  if (opts.dawnNode ?? process.env.DAWN_NODE) {
    const { createRequire } = await import('node:module');
    const req = createRequire(import.meta.url);
    ({ create, globals } = req(opts.dawnNode ?? process.env.DAWN_NODE!) as { create: typeof create; globals: typeof globals });
  } else {
    const name = 'webgpu';
    ({ create, globals } = (await import(/* @vite-ignore */ name)) as { create: typeof create; globals: typeof globals });
  }
  Object.assign(globalThis, globals);
  patchSharedWrites(globals);
  const gpu = create(opts.dawn ?? (process.env.DAWN_OPTIONS ? process.env.DAWN_OPTIONS.split(' ') : []));
  Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: 'node' }, configurable: true, writable: true });
  const mod = (await import('onnxruntime-web/webgpu')) as unknown as Ort & { default?: Ort };
  const ort = mod.default ?? mod;
  ort.env.wasm.numThreads = 1;
  return createBackend({ prefer: 'webgpu', ort });
}

/**
 * ORT's wasm heap is a shared WebAssembly.Memory, so it hands queue.writeBuffer views of a SharedArrayBuffer;
 * dawn.node rejects those with "Invalid argument" (browsers accept them). Copy such views into a plain buffer.
 */
function patchSharedWrites(globals: Record<string, unknown>): void {
  const Queue = globals.GPUQueue as { prototype: GPUQueue & { __steerlabPatched?: boolean } } | undefined;
  if (!Queue || Queue.prototype.__steerlabPatched) return;
  const orig = Queue.prototype.writeBuffer;
  Queue.prototype.writeBuffer = function (this: GPUQueue, buffer: GPUBuffer, offset: number, data: BufferSource, dataOffset?: number, size?: number) {
    if (ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer) {
      const el = (data as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
      const start = data.byteOffset + (dataOffset ?? 0) * el;
      const bytes = size !== undefined ? size * el : data.byteLength - (dataOffset ?? 0) * el;
      const copy = new Uint8Array(bytes);
      copy.set(new Uint8Array(data.buffer, start, bytes));
      return orig.call(this, buffer, offset, copy, 0, bytes);
    }
    return orig.call(this, buffer, offset, data, dataOffset, size);
  } as GPUQueue['writeBuffer'];
  Queue.prototype.__steerlabPatched = true;
}
