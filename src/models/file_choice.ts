// Choosing the ONNX file of a repository a user would want, from its file listing alone (nothing downloaded):
// transformers.js's naming (onnx/model{suffix}.onnx with suffixes '', _fp16, _q4, _q4f16, _int8, _uint8,
// _quantized, _bnb4; external data in <file>_data, <file>_data_1, … or onnxruntime-genai's <file>.data), the size
// of each choice with every external chunk counted, q4f16 first where the adapter has shader-f16 (else q4), and
// a refusal with the numbers when the weights cannot fit the device's limits.

import type { ListedFile } from './file_listing';
import type { OnnxDtype } from './onnx_layout';
import { plural } from '../engine/plural';

export interface OnnxFileChoice {
  /** the .onnx file's path in the repository */
  file: string;
  dtype: OnnxDtype;
  /** the .onnx file and all its external data */
  bytes: number;
  /** external data files, in chunk order */
  chunks: string[];
  /** why it is not offered (unsupported dtype, too big for this device) */
  refusal?: string;
}

export interface DeviceLimits {
  kind: 'webgpu' | 'wasm';
  shaderF16: boolean;
  /** GPUAdapter limits (WebGPU only) */
  maxBufferSize?: number;
  maxStorageBufferBindingSize?: number;
}

/** wasm32 linear memory: every weight lives in it when there is no WebGPU */
export const WASM_MEMORY_BYTES = 4 * 1024 ** 3;

const SUFFIX_DTYPE: Record<string, OnnxDtype> = {
  '': 'fp32',
  _fp32: 'fp32',
  _fp16: 'fp16',
  _q4: 'q4',
  _q4f16: 'q4f16',
  _int8: 'int8',
  _uint8: 'uint8',
  _quantized: 'q8',
  _bnb4: 'bnb4',
};

/** dtypes steerlab reads; the rest are listed with a refusal */
const SUPPORTED = new Set<OnnxDtype>(['q4', 'q4f16', 'fp32', 'fp16', 'bnb4']);

export function dtypeFromName(file: string): OnnxDtype {
  const m = /(?:^|\/)model(_[a-z0-9]+)?\.onnx$/.exec(file);
  if (!m) return 'unknown';
  return SUFFIX_DTYPE[m[1] ?? ''] ?? 'unknown';
}

/** Every .onnx file of a listing with its external chunks and total size. */
export function onnxFilesOf(listing: ListedFile[]): OnnxFileChoice[] {
  const sizes = new Map(listing.map((f) => [f.path, f.size]));
  return listing
    .filter((f) => f.path.endsWith('.onnx'))
    .map((f) => {
      const chunkRe = new RegExp(`^${escapeRe(f.path)}(?:_data(?:_(\\d+))?|\\.data)$`);
      const chunks = listing
        .map((x) => ({ path: x.path, m: chunkRe.exec(x.path) }))
        .filter((x) => x.m)
        .sort((a, b) => Number(a.m![1] ?? 0) - Number(b.m![1] ?? 0))
        .map((x) => x.path);
      const bytes = f.size + chunks.reduce((s, c) => s + (sizes.get(c) ?? 0), 0);
      const dtype = dtypeFromName(f.path);
      const refusal = SUPPORTED.has(dtype) || dtype === 'unknown' ? undefined : unsupportedReason(dtype);
      return { file: f.path, dtype, bytes, chunks, ...(refusal ? { refusal } : {}) };
    });
}

function unsupportedReason(d: OnnxDtype): string {
  return `${d} MatMulInteger weights are not supported: choose q4 or q4f16`;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The model's sizes that decide its biggest buffer (from config.json: a few hundred bytes, fetched first). */
export interface ModelDims {
  vocabSize: number;
  hiddenSize: number;
}

/**
 * Why the file cannot run on this device, or null. Estimates, stated as such: every dense weight is held in
 * float32 (fp16 ones are upcast), so the largest single buffer is the embedding, vocab × hidden × 4 bytes, and
 * the resident size is the download plus the upcast of fp16 parts.
 */
export function deviceRefusal(c: OnnxFileChoice, device: DeviceLimits, dims?: ModelDims): string | null {
  const mb = (n: number) => `${(n / 1e6).toFixed(0)} MB`;
  const embed = dims ? dims.vocabSize * dims.hiddenSize * 4 : 0;
  // bnb4 weights are dequantised to float32: 8 bytes per packed byte
  const resident = c.dtype === 'fp16' ? 2 * c.bytes : c.dtype === 'bnb4' ? 8 * c.bytes : c.bytes + (c.dtype === 'q4f16' ? embed / 2 : 0);
  const what = `${c.file} (${mb(c.bytes)} download${c.chunks.length ? ` with ${plural(c.chunks.length, 'external-data file')}` : ''})`;
  if (device.kind === 'wasm' && resident > WASM_MEMORY_BYTES) {
    return `${what} needs about ${mb(resident)} of memory once loaded, more than wasm's 4 GiB (${WASM_MEMORY_BYTES} bytes); use a smaller model or a browser with WebGPU`;
  }
  if (device.kind === 'webgpu' && dims) {
    const limit = Math.min(device.maxBufferSize ?? Infinity, device.maxStorageBufferBindingSize ?? Infinity);
    if (embed > limit) {
      const which = (device.maxStorageBufferBindingSize ?? Infinity) <= (device.maxBufferSize ?? Infinity) ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
      return `${what} holds a ${dims.vocabSize} × ${dims.hiddenSize} embedding, ${mb(embed)} in float32, but this GPU allows at most ${mb(limit)} per buffer (${which} ${limit}); use a smaller model`;
    }
  }
  return null;
}

export interface FileChoice {
  /** the file to load, or undefined when none fits (see reason) */
  choice?: OnnxFileChoice;
  /** every .onnx file of the repository, with its refusal if it has one, in preference order */
  options: OnnxFileChoice[];
  reason?: string;
}

/** The file steerlab loads by default: q4f16 where the adapter has shader-f16, else q4; then the float files. */
export function chooseOnnxFile(listing: ListedFile[], device: DeviceLimits, dims?: ModelDims): FileChoice {
  const order: OnnxDtype[] = device.kind === 'webgpu' && device.shaderF16 ? ['q4f16', 'q4', 'fp16', 'fp32', 'unknown'] : ['q4', 'q4f16', 'fp32', 'fp16', 'unknown'];
  const rank = (c: OnnxFileChoice) => {
    const r = order.indexOf(c.dtype);
    // onnx/ (transformers.js layout) before files at the root
    return (r < 0 ? order.length : r) * 2 + (c.file.startsWith('onnx/') ? 0 : 1);
  };
  const options = onnxFilesOf(listing)
    .map((c) => {
      const refusal = c.refusal ?? deviceRefusal(c, device, dims);
      return refusal ? { ...c, refusal } : c;
    })
    .sort((a, b) => rank(a) - rank(b) || a.file.localeCompare(b.file));
  const choice = options.find((c) => !c.refusal);
  if (choice) return { choice, options };
  if (!options.length) return { options, reason: 'the repository has no .onnx file' };
  return { options, reason: `no file of this repository fits: ${options.map((o) => o.refusal).join('; ')}` };
}
