// Picks the execution provider: WebGPU in browsers that have an adapter, wasm otherwise (and always in Node),
// and says why. Browsers load onnxruntime-web's WebGPU build: the plain build silently computes wrong fp16
// results on adapters without shader-f16, the WebGPU build throws instead.

import type * as OrtNS from 'onnxruntime-web';
import { anchorWebGpuDevice } from './device';

export type Ort = typeof OrtNS;
export type EpKind = 'webgpu' | 'wasm';

export interface BackendInfo {
  kind: EpKind;
  /** why wasm was chosen, when WebGPU was preferred */
  reason?: string;
  adapter?: { vendor?: string; architecture?: string; description?: string; features: string[] };
  shaderF16: boolean;
  /** the adapter's buffer limits (WebGPU): a weight bigger than these cannot be placed */
  limits?: { maxBufferSize: number; maxStorageBufferBindingSize: number };
  /**
   * whether float64 kernels exist: Node's wasm build has them; the browser builds (WebGPU's wasm included) ship
   * without double types for most ops, and WGSL has no f64
   */
  float64: boolean;
  ortVersion: string;
}

export interface Backend extends BackendInfo {
  ort: Ort;
  graphOptimizationLevel?: BackendOptions['graphOptimizationLevel'];
}

export interface BackendOptions {
  prefer?: EpKind;
  /** where ORT's .wasm/.mjs files are (a URL prefix, or the two files' URLs); default: ORT's own resolution */
  wasmPaths?: string | { wasm?: string; mjs?: string };
  numThreads?: number;
  /** default ORT graph optimisation level for sessions on this backend */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * an onnxruntime-web module loaded by the caller: Node benchmarks load the WebGPU build over dawn.node
   * (bench/node_webgpu.ts) to run the browser's runtime on a GPU machine without a browser
   */
  ort?: Ort;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined' && typeof self === 'undefined';

async function loadOrt(): Promise<Ort> {
  // Node resolves the package's node build (wasm EP); browsers get the WebGPU build. The Node specifier is
  // computed so that bundlers do not pull a second onnxruntime-web into the browser build.
  if (isNode) {
    const nodeBuild = 'onnxruntime-web';
    return (await import(/* @vite-ignore */ nodeBuild)) as unknown as Ort;
  }
  return (await import('onnxruntime-web/webgpu')) as unknown as Ort;
}

let cached: Promise<Backend> | undefined;

export function createBackend(opts: BackendOptions = {}): Promise<Backend> {
  cached ??= init(opts);
  return cached;
}

/** Forget the cached backend (after a lost device, or to switch EP in tests). */
export function resetBackend(): void {
  cached = undefined;
}

async function init(opts: BackendOptions): Promise<Backend> {
  const mod = opts.ort ?? (await loadOrt());
  const ort = ((mod as unknown as { default?: Ort }).default ?? mod) as Ort;
  if (opts.wasmPaths) ort.env.wasm.wasmPaths = opts.wasmPaths as string;
  if (opts.numThreads) ort.env.wasm.numThreads = opts.numThreads;
  else if (typeof crossOriginIsolated !== 'undefined' && !crossOriginIsolated) ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  const base = { ort, ortVersion: ort.env.versions?.web ?? 'unknown', shaderF16: false, float64: false, graphOptimizationLevel: opts.graphOptimizationLevel };
  const prefer = opts.prefer ?? (isNode && !opts.ort ? 'wasm' : 'webgpu');
  if (prefer === 'wasm') return { ...base, kind: 'wasm', float64: isNode && !opts.ort, reason: isNode ? 'Node runs the wasm EP' : 'wasm requested' };
  const gpu = (globalThis.navigator as Navigator & { gpu?: GPU } | undefined)?.gpu;
  if (!gpu) return { ...base, kind: 'wasm', reason: 'this browser has no WebGPU (navigator.gpu is missing)' };
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { ...base, kind: 'wasm', reason: `WebGPU adapter request failed: ${(e as Error).message}` };
  }
  if (!adapter) return { ...base, kind: 'wasm', reason: 'WebGPU is present but no adapter was found (GPU blocklisted or disabled)' };
  const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
  const features = [...adapter.features] as string[];
  // hand ORT this adapter so it runs on the one we inspected
  (ort.env.webgpu as { adapter?: unknown }).adapter = adapter;
  try {
    await anchorWebGpuDevice(ort, true);
  } catch (e) {
    return { ...base, kind: 'wasm', reason: `WebGPU did not start: ${(e as Error).message}` };
  }
  return {
    ...base,
    kind: 'webgpu',
    shaderF16: adapter.features.has('shader-f16'),
    limits: { maxBufferSize: adapter.limits.maxBufferSize, maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize },
    adapter: { vendor: info?.vendor, architecture: info?.architecture, description: info?.description, features },
  };
}

export { isNode };
