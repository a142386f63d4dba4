// "Will steerlab take this model?" for one ONNX file: its layout and dtype, its size with every external-data
// chunk, whether the loader reads it (or the reason it refuses), and — when a backend is given — how far our
// graph's logits are from onnxruntime running that very file on the same few token ids. `npm run inspect`
// prints this verdict as one JSON line; the Model panel shows it; the fixture tests assert it.

import { f16ToFloat32 } from '../engine/dtype';
import type { Backend } from '../engine/runtime/backend';
import { createSession } from '../engine/runtime/device';
import { CompiledGraph } from '../engine/runtime/session';
import { decodeModel, toNum, type OnnxModel, type OnnxValueInfo } from '../engine/onnx/proto';
import type { ModelConfig } from './config';
import { parseHfConfig } from './config_parse';
import type { FileSource } from './file_source';
import { LoadedModel } from './model';
import { describeOnnx, UnsupportedOnnxError, type OnnxDtype, type OnnxLayout } from './onnx_layout';
import { exactReference } from './onnx_upcast';
import { weightsFromOnnx } from './onnx_weights';
import { buildSteerGraph } from './steer_graph';
import type { ModelWeights } from './weights';

export interface OnnxVerdict {
  file: string;
  layout: OnnxLayout;
  dtype: OnnxDtype;
  /** the .onnx file plus all its external data */
  bytes: number;
  external_chunks: number;
  ok: boolean;
  reason: string | null;
  /** max |ours − onnxruntime| over the logits of CHECK_IDS (the file in its exact form: onnx_upcast.ts); null when not compared */
  logits_max_abs_diff_vs_ort: number | null;
}

/** token ids both graphs run (taken modulo the vocabulary); the Python fixture script uses the same */
export const CHECK_IDS = [2, 17, 256, 999, 3, 512, 42, 7, 100, 64];

/** tolerances of the comparison: 4-bit weights vs float ones (issue 9) */
export const LOGITS_TOLERANCE = { q4: 2e-3, dense: 1e-4 };

/**
 * The allowed max |ours − onnxruntime|. On wasm both sides run the same CPU kernels and the issue's absolute
 * tolerances hold as they are. On WebGPU each side's reductions run in float32 on the GPU in its own order:
 * onnxruntime-web running a float32 torch export of the Gemma 3 fixture differs from our graph by 5e-4 on logits
 * of size 2.4 on SwiftShader (our graph is within 1e-4 relative of PyTorch there, see browser_reference), so on
 * WebGPU the tolerance is 1e-3 (float) / 2e-3 (4-bit) relative to the logits' scale.
 */
export function toleranceFor(dtype: OnnxDtype, kind: 'wasm' | 'webgpu' = 'wasm', logitScale = 1): number {
  const dense = dtype === 'fp32' || dtype === 'fp16';
  if (kind === 'webgpu') return (dense ? 1e-3 : LOGITS_TOLERANCE.q4) * Math.max(1, logitScale);
  // an fp16 file's graph constants (RMSNorm eps, rotary frequencies) are float16-rounded too, and stay so in its
  // float32 upcast, while our graph uses config.json's exact values: 1.05e-4 measured on the Qwen2 fixture
  if (dtype === 'fp16') return 2 * LOGITS_TOLERANCE.dense;
  return dense ? LOGITS_TOLERANCE.dense : LOGITS_TOLERANCE.q4;
}

export interface CheckOptions {
  /** run our graph and onnxruntime on CHECK_IDS and compare (needs a backend) */
  backend?: Backend;
  /** parsed config.json; read from the source when absent */
  config?: ModelConfig;
  ids?: number[];
}

export interface CheckResult {
  verdict: OnnxVerdict;
  /** ok; refused with a reason (unsupported, unreadable, not comparable); or mismatch: loaded, but wrong numbers */
  status: 'ok' | 'refused' | 'mismatch';
  /** the loaded weights when the loader read the file (for gradient checks and the lab) */
  weights?: ModelWeights;
  config?: ModelConfig;
  /** our and onnxruntime's logits [1, T, V] when compared */
  ours?: Float32Array;
  ort?: Float32Array;
  /** float16 / accuracy_level files: max |ours − onnxruntime running the file as it is| (its rounding, for the record) */
  ortAsIsDiff?: number;
}

const dirOf = (file: string) => (file.includes('/') ? file.slice(0, file.lastIndexOf('/') + 1) : '');

export async function checkOnnxFile(src: FileSource, file: string, opts: CheckOptions = {}): Promise<CheckResult> {
  const verdict: OnnxVerdict = { file, layout: 'unknown', dtype: 'unknown', bytes: 0, external_chunks: 0, ok: false, reason: null, logits_max_abs_diff_vs_ort: null };
  const fail = (reason: string): CheckResult => ({ status: 'refused', verdict: { ...verdict, ok: false, reason } });
  let bytes: Uint8Array;
  try {
    bytes = await src.get(file);
  } catch (e) {
    return fail((e as Error).message);
  }
  verdict.bytes = bytes.byteLength;
  let model: OnnxModel;
  try {
    model = decodeModel(bytes);
  } catch (e) {
    return fail(`${file} is not an ONNX model: ${(e as Error).message}`);
  }
  const facts = describeOnnx(model, file);
  Object.assign(verdict, { layout: facts.layout, dtype: facts.dtype, external_chunks: facts.externalFiles.length });
  // read every external chunk once (their sizes count even when the file is refused)
  const external = new Map<string, Uint8Array>();
  for (const loc of facts.externalFiles) {
    try {
      const b = await src.get(dirOf(file) + loc);
      external.set(loc, b);
      verdict.bytes += b.byteLength;
    } catch (e) {
      return fail(`${file} keeps weights in ${loc}: ${(e as Error).message}`);
    }
  }
  if (facts.refusal) return fail(facts.refusal);

  let config = opts.config;
  if (!config) {
    try {
      config = parseHfConfig(JSON.parse(new TextDecoder().decode(await src.get('config.json'))), `${src.id}/config.json`);
    } catch (e) {
      return fail(`${src.id}: ${(e as Error).message} (the loader needs the model's config.json beside the onnx folder)`);
    }
  }
  let weights: ModelWeights;
  try {
    weights = await weightsFromOnnx(config, bytes, (loc) => external.get(loc) ?? src.get(dirOf(file) + loc), file);
  } catch (e) {
    return fail(e instanceof UnsupportedOnnxError ? e.message : `the loader cannot read ${file}: ${(e as Error).message}`);
  }
  const result: CheckResult = { status: 'ok', verdict: { ...verdict, ok: true }, weights, config };
  if (!opts.backend) return result;

  const ids = (opts.ids ?? CHECK_IDS).map((i) => i % config.vocabSize);
  let ours: Float32Array;
  let ort: Float32Array;
  try {
    ours = await ourLogits(opts.backend, config, weights, ids);
  } catch (e) {
    return { ...result, status: 'refused', verdict: { ...result.verdict, ok: false, reason: `our graph failed on the loaded weights: ${(e as Error).message}` } };
  }
  // onnxruntime runs the file in its exact-arithmetic form (float16 upcast, no int8 accuracy_level: onnx_upcast.ts);
  // the file as it is, beside it, for the record (a device without shader-f16 cannot run a float16 file as it is)
  const f16 = facts.dtype === 'fp16' || facts.dtype === 'q4f16';
  let asIs: number | undefined;
  try {
    const exact = exactReference(bytes, external, f16);
    if (exact) {
      ort = await ortLogits(opts.backend, decodeModel(exact), exact, external, ids, config);
      asIs = await ortLogits(opts.backend, model, bytes, external, ids, config).then(
        (x) => maxAbsDiff(ours, x),
        () => undefined,
      );
    } else ort = await ortLogits(opts.backend, model, bytes, external, ids, config);
  } catch (e) {
    // onnxruntime-web cannot run every file onnxruntime can (e.g. a contrib op missing from the wasm build): the
    // file still loads, but nothing vouches for our numbers
    return { ...result, status: 'refused', ours, verdict: { ...result.verdict, ok: false, reason: `onnxruntime-web (${opts.backend.kind}) could not run ${file} to compare: ${(e as Error).message}` } };
  }
  const diff = maxAbsDiff(ours, ort);
  const tol = toleranceFor(facts.dtype, opts.backend.kind, ort.reduce((m, x) => Math.max(m, Math.abs(x)), 0));
  const ok = diff <= tol;
  return {
    ...result,
    status: ok ? 'ok' : 'mismatch',
    ours,
    ort,
    ...(asIs !== undefined ? { ortAsIsDiff: asIs } : {}),
    verdict: {
      ...result.verdict,
      logits_max_abs_diff_vs_ort: diff,
      ok,
      reason: ok ? null : `our logits differ from onnxruntime's by ${diff.toPrecision(3)} (tolerance ${Number(tol.toPrecision(3))} for ${facts.dtype} on ${opts.backend.kind}): the loader misread this layout`,
    },
  };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`logits sizes differ: ours ${a.length}, onnxruntime ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = d; // NaN wins
  }
  return m;
}

/** Our decoder's logits [1, T, V] on the ids (no steering: alpha 0). */
export async function ourLogits(backend: Backend, config: ModelConfig, weights: ModelWeights, ids: number[]): Promise<Float32Array> {
  const model = LoadedModel.create(backend, config, weights, 'onnx');
  try {
    const sg = buildSteerGraph(model, { layer: 0, ce: false, logits: ['chat'] });
    const cg = await CompiledGraph.create(backend, sg.graph, model.store);
    try {
      const T = ids.length;
      const out = await cg.run({
        v: { dtype: 'float32', shape: [config.hiddenSize], data: new Float32Array(config.hiddenSize) },
        alpha: { dtype: 'float32', shape: [], data: new Float32Array([0]) },
        ids: { dtype: 'int64', shape: [1, T], data: BigInt64Array.from(ids, BigInt) },
        mask: { dtype: 'int64', shape: [1, T], data: new BigInt64Array(T).fill(1n) },
      });
      return out.logits_chat!.data as Float32Array;
    } finally {
      await cg.release();
    }
  } finally {
    model.store.dispose();
  }
}

const ELEM = { 1: 'float32', 10: 'float16', 7: 'int64', 6: 'int32' } as const;

/**
 * onnxruntime-web running the file itself on the ids: every graph input is fed by its name (input_ids,
 * attention_mask, position_ids, an empty KV cache for past_key_values.*), as a first generation step would.
 */
export async function ortLogits(backend: Backend, model: OnnxModel, bytes: Uint8Array, external: Map<string, Uint8Array>, ids: number[], cfg?: ModelConfig): Promise<Float32Array> {
  const ort = backend.ort;
  const session = await createSession(ort, bytes, {
    executionProviders: [backend.kind],
    externalData: [...external].map(([path, data]) => ({ path, data })),
    graphOptimizationLevel: 'all',
  });
  try {
    const T = ids.length;
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
    const inits = new Set((model.graph?.initializer ?? []).map((t) => t.name));
    for (const vi of model.graph?.input ?? []) {
      const name = vi.name ?? '';
      if (inits.has(name)) continue; // an initializer listed as an input (old IR): has its value
      const et = vi.type?.tensor_type?.elem_type ?? 0;
      const type = ELEM[et as keyof typeof ELEM];
      if (!type) throw new Error(`input ${name} has element type ${et}, which the check does not know how to feed`);
      const make = (shape: number[], fill: (i: number) => number) => {
        const n = shape.reduce((a, b) => a * b, 1);
        if (type === 'int64') return new ort.Tensor('int64', BigInt64Array.from({ length: n }, (_, i) => BigInt(fill(i))), shape);
        if (type === 'int32') return new ort.Tensor('int32', Int32Array.from({ length: n }, (_, i) => fill(i)), shape);
        if (type === 'float16') return new ort.Tensor('float16', new Uint16Array(n), shape);
        return new ort.Tensor('float32', Float32Array.from({ length: n }, (_, i) => fill(i)), shape);
      };
      if (name === 'input_ids') feeds[name] = make([1, T], (i) => ids[i]!);
      else if (name === 'attention_mask') feeds[name] = make([1, T], () => 1);
      else if (name === 'position_ids') feeds[name] = make([1, T], (i) => i);
      else if (/^past_|^past_key_values/.test(name)) feeds[name] = make(pastShape(vi, cfg), () => 0);
      else if (name === 'num_logits_to_keep' || name === 'logits_to_keep') feeds[name] = make([], () => 0);
      else throw new Error(`input ${name} is not one the check knows how to feed`);
    }
    const outName = (model.graph?.output ?? []).some((o) => o.name === 'logits') ? 'logits' : model.graph?.output?.[0]?.name ?? 'logits';
    const out = (await session.run(feeds, [outName]))[outName]!;
    const data = out.data as Float32Array | Uint16Array;
    return out.type === 'float16' ? f16ToFloat32(data as Uint16Array) : Float32Array.from(data as Float32Array);
  } finally {
    await session.release();
  }
}

/** [1, kv heads, 0, head dim] for an empty cache: symbolic head counts / sizes (genai's kv_cache_dim) from the config */
function pastShape(vi: OnnxValueInfo, cfg?: ModelConfig): number[] {
  const dims = vi.type?.tensor_type?.shape?.dim ?? [];
  return dims.map((d, k) => {
    if (k === 0) return 1;
    const v = d.dim_value !== undefined && d.dim_value !== null ? toNum(d.dim_value) : 0;
    if (!d.dim_param && v > 0) return v;
    if (dims.length === 4 && k === 1) return cfg?.numKvHeads ?? 0;
    if (dims.length === 4 && k === 3) return cfg?.headDim ?? 0;
    return 0;
  });
}
