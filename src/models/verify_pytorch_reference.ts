// Verification tool (npm run reference, test/models/reference.test.ts, the browser reference page): checks our
// graphs against a PyTorch reference folder (../shared/reference layout): builds the model from the
// folder, runs reference.safetensors' inputs and measures logits, hidden states, losses, gradients, the q4 ONNX
// import and (hub-layout folders) the tokenisation. Runs in Node (wasm) and in browsers (WebGPU) alike.

import type { Backend } from '../engine/runtime/backend';
import { CompiledGraph } from '../engine/runtime/session';
import type { TensorData } from '../engine/ir';
import { parseHfConfig } from './config_parse';
import { readSafetensors, readSafetensorsRaw } from './safetensors';
import { weightsFromSafetensors } from './safetensors_weights';
import { weightsFromOnnx } from './onnx_weights';
import { attendedRows, labelRows } from './losses';
import { LoadedModel } from './model';
import { buildSteerGraph } from './steer_graph';
import type { ModelConfig } from './config';
import type { FileSource } from './file_source';

/** A reference folder's files (any FileSource; the label is not needed). */
export type ReferenceFiles = Pick<FileSource, 'get' | 'has'>;

export interface ReferenceResult {
  arch: string;
  logits_rel_err: number;
  hidden_rel_err: number;
  loss_rel_err: number;
  grad_cos_min: number;
  grad_rel_err: number;
  q4_logits_abs_err?: number;
  tokenization_exact?: boolean;
  /** the trainer's own CE step (opts.trainStep) on the same batch: its route, loss and gradient errors */
  step_route?: string;
  step_loss_rel_err?: number;
  step_grad_cos?: number;
  step_grad_rel_err?: number;
  ok: boolean;
  failures: string[];
}

export interface Tolerance {
  logits: number;
  hidden: number;
  loss: number;
  gradCos: number;
  gradRel: number;
  q4Abs: number;
}

/**
 * Tolerances: a small margin (2–3×) over the worst error measured on 2026-12-02 over the fixture folders, so a
 * 10× regression fails. Measured worst — Node wasm, all seven folders: logits 9.9e-7, hidden 9.6e-7, loss
 * 3.3e-7, gradient cosine 1 − 2.5e-13, gradient rel 7.6e-7, q4 abs 3.3e-6. Chromium WebGPU (SwiftShader;
 * qwen2, gemma2, qwen2-hub): logits 2.6e-6, hidden 2.2e-6, loss 3.2e-6, cosine 1 − 2.5e-11, gradient rel
 * 7.3e-6, q4 abs 7.0e-6. The cosine's distance from 1 grows with the square of the relative error, hence its
 * larger factor. `float32` covers every backend without float64 kernels (WebGPU, and the browser's wasm), whose
 * KL head runs in float32.
 */
export const TOLERANCE: { float64: Tolerance; float32: Tolerance } = {
  float64: { logits: 2.5e-6, hidden: 2.5e-6, loss: 1e-6, gradCos: 1 - 1e-11, gradRel: 2e-6, q4Abs: 8e-6 },
  float32: { logits: 6e-6, hidden: 5e-6, loss: 8e-6, gradCos: 1 - 1e-10, gradRel: 1.6e-5, q4Abs: 1.6e-5 },
};

/** The tolerances that apply on `backend`: float64 where its kernels exist (Node's wasm), else float32. */
export function toleranceFor(backend: Pick<Backend, 'float64'>): Tolerance {
  return backend.float64 ? TOLERANCE.float64 : TOLERANCE.float32;
}

/** Tokenises reference.json `text` the lab's way; returns ids/mask/loss mask rows (hub folders only). */
export type Tokenize = (files: ReferenceFiles, conversations: unknown) => Promise<{ inputIds: ArrayLike<number>; attentionMask: ArrayLike<number>; lossMask: ArrayLike<number>; B: number; T: number }>;

const json = async (f: ReferenceFiles, p: string) => JSON.parse(new TextDecoder().decode(await f.get(p))) as Record<string, unknown>;

function maxRel(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (ours.length !== ref.length) throw new Error(`size mismatch: ours ${ours.length}, reference ${ref.length}`);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    err = Math.max(err, Math.abs(ours[i]! - ref[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return err / scale;
}

function cosRel(a: ArrayLike<number>, b: ArrayLike<number>): [number, number] {
  let dot = 0;
  let na = 0;
  let nb = 0;
  let diff = 0;
  for (let i = 0; i < b.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! ** 2;
    nb += b[i]! ** 2;
    diff += (a[i]! - b[i]!) ** 2;
  }
  return [dot / Math.sqrt(na * nb), Math.sqrt(diff / nb)];
}

const i64 = (x: ArrayLike<number>) => BigInt64Array.from(Array.from(x), (v) => BigInt(v));
const f32 = (shape: number[], data: Float32Array): TensorData => ({ dtype: 'float32', shape, data });
const i64t = (shape: number[], data: BigInt64Array): TensorData => ({ dtype: 'int64', shape, data });

/** One batch through a trainer's CE step (the lab's, passed in: models does not import the lab), v at scale 1. */
export type TrainStepCheck = (
  model: LoadedModel,
  batch: { inputIds: ArrayLike<number>; attentionMask: ArrayLike<number>; lossMask: ArrayLike<number>; B: number; T: number },
  layer: number,
  v: Float32Array,
) => Promise<{ route: string; ce: number; grad: Float32Array }>;

export async function runReference(files: ReferenceFiles, backend: Backend, opts: { tokenize?: Tokenize; trainStep?: TrainStepCheck } = {}): Promise<ReferenceResult> {
  const cfg: ModelConfig = parseHfConfig(await json(files, 'config.json'));
  const rj = await json(files, 'reference.json');
  const ref = readSafetensorsRaw(await files.get('reference.safetensors'));
  const tensor = (name: string) => {
    const t = ref.get(name);
    if (!t) throw new Error(`reference.safetensors has no tensor ${name}`);
    return t;
  };
  const failures: string[] = [];
  const tol = toleranceFor(backend);
  const L = rj.steer_layer as number;
  const lambda = rj.lambda_kl as number;
  const hub = !ref.has('logits_chat');

  const ids = tensor('input_ids');
  const [B, T] = ids.shape as [number, number];
  const am = tensor('attention_mask').data as ArrayLike<number>;
  const lm = tensor('loss_mask').data as ArrayLike<number>;
  const idArr = ids.data as ArrayLike<number>;

  let tokenizationExact: boolean | undefined;
  if (hub && opts.tokenize) {
    const tok = await opts.tokenize(files, rj.text);
    const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((x, i) => x === b[i]);
    tokenizationExact = tok.B === B && tok.T === T && same(tok.inputIds, idArr) && same(tok.attentionMask, am) && same(tok.lossMask, lm);
    if (!tokenizationExact) failures.push('tokenisation of reference.json text differs from input_ids/attention_mask/loss_mask');
  }

  const weights = weightsFromSafetensors(cfg, readSafetensors(await files.get('model.safetensors')));
  const model = LoadedModel.create(backend, cfg, weights, 'safetensors');
  const sg = buildSteerGraph(model, { layer: L, ce: true, kl: 'same', grads: ['ce', 'kl', 'total'], logits: ['steered', 'chat'], hidden: true, ceRows: B * T, klRows: B * T });
  const cg = await CompiledGraph.create(backend, sg.graph, model.store);
  const rows = labelRows(idArr, lm, B, T);
  const kl = attendedRows(am);
  const feeds = {
    v: f32([cfg.hiddenSize], tensor('steer_vector').data as Float32Array),
    alpha: f32([], new Float32Array([1])),
    lambda: f32([], new Float32Array([lambda])),
    ids: i64t([B, T], i64(idArr)),
    mask: i64t([B, T], i64(am)),
    ce_index: i64t([rows.index.length], rows.index),
    ce_target: i64t([rows.target.length], rows.target),
    kl_index: i64t([kl.length], kl),
  };
  const out = await cg.run(feeds);
  await cg.release();

  // the trainer's step (padded, graph-captured on WebGPU) on the same batch must give PyTorch's CE and ∂CE/∂v too
  let step: { route: string; lossErr: number; cos: number; rel: number } | undefined;
  if (opts.trainStep) {
    const s = await opts.trainStep(model, { inputIds: idArr, attentionMask: am, lossMask: lm, B, T }, L, feeds.v.data as Float32Array);
    const [cos, rel] = cosRel(s.grad, tensor('grad_ce').data as Float32Array);
    step = { route: s.route, lossErr: Math.abs(s.ce - (rj.ce_steered as number)) / Math.abs(rj.ce_steered as number), cos, rel };
    if (step.lossErr > tol.loss) failures.push(`trainer step (${s.route}) CE rel err ${step.lossErr} > ${tol.loss}`);
    if (cos < tol.gradCos) failures.push(`trainer step (${s.route}) gradient cosine ${cos} < ${tol.gradCos}`);
    if (rel > tol.gradRel) failures.push(`trainer step (${s.route}) gradient rel err ${rel} > ${tol.gradRel}`);
  }

  // logits: full tensors for tiny folders; top-64 + logsumexp for hub folders (vocab too large to store)
  let logitsErr = 0;
  for (const kind of ['chat', 'steered'] as const) {
    const ours = out[`logits_${kind}`]!.data as Float32Array;
    if (!hub) logitsErr = Math.max(logitsErr, maxRel(ours, tensor(`logits_${kind}`).data as Float32Array));
    else {
      const V = cfg.vocabSize;
      const topIds = tensor(`top64_ids_${kind}`).data as ArrayLike<number>;
      const topVals = tensor(`top64_logits_${kind}`).data as Float32Array;
      const lse = tensor(`logsumexp_${kind}`).data as Float32Array;
      const picked = new Float32Array(topVals.length);
      for (let i = 0; i < topVals.length; i++) picked[i] = ours[Math.floor(i / 64) * V + topIds[i]!]!;
      const ourLse = new Float32Array(B * T);
      for (let p = 0; p < B * T; p++) {
        let m = -Infinity;
        for (let v = 0; v < V; v++) m = Math.max(m, ours[p * V + v]!);
        let s = 0;
        for (let v = 0; v < V; v++) s += Math.exp(ours[p * V + v]! - m);
        ourLse[p] = m + Math.log(s);
      }
      logitsErr = Math.max(logitsErr, maxRel(picked, topVals), maxRel(ourLse, lse));
    }
  }
  let hiddenErr = 0;
  for (let i = 0; i <= cfg.numLayers; i++) {
    const r = ref.get(`hidden_chat.${i}`);
    if (r) hiddenErr = Math.max(hiddenErr, maxRel(out[`hidden_${i}`]!.data as Float32Array, r.data as Float32Array));
  }
  const lossPairs: [string, number][] = [
    ['ce', rj.ce_steered as number],
    ['kl', rj.kl as number],
    ['total', rj.total as number],
  ];
  let lossErr = 0;
  for (const [k, want] of lossPairs) lossErr = Math.max(lossErr, Math.abs((out[k]!.data[0] as number) - want) / Math.abs(want));
  let gradCos = 1;
  let gradRel = 0;
  for (const k of ['ce', 'kl', 'total']) {
    const [c, r] = cosRel(out[`grad_${k}`]!.data as Float32Array, tensor(`grad_${k}`).data as Float32Array);
    gradCos = Math.min(gradCos, c);
    gradRel = Math.max(gradRel, r);
  }

  let q4Err: number | undefined;
  if (await files.has('model_q4.onnx')) {
    const qw = await weightsFromOnnx(cfg, await files.get('model_q4.onnx'), (loc) => files.get(loc));
    const qm = LoadedModel.create(backend, cfg, qw, 'onnx-q4');
    const qg = buildSteerGraph(qm, { layer: L, ce: false, logits: ['chat'] });
    const qc = await CompiledGraph.create(backend, qg.graph, qm.store);
    const { v, alpha, ids: idsT, mask } = feeds;
    const q = await qc.run({ v, alpha, ids: idsT, mask });
    await qc.release();
    const ours = q.logits_chat!.data as Float32Array;
    const want = tensor('logits_chat_q4_ort').data as Float32Array;
    q4Err = 0;
    for (let i = 0; i < want.length; i++) q4Err = Math.max(q4Err, Math.abs(ours[i]! - want[i]!));
    if (q4Err > tol.q4Abs) failures.push(`q4 logits max abs err ${q4Err} > ${tol.q4Abs}`);
    qm.store.dispose();
  }
  model.store.dispose();

  if (logitsErr > tol.logits) failures.push(`logits rel err ${logitsErr} > ${tol.logits}`);
  if (hiddenErr > tol.hidden) failures.push(`hidden rel err ${hiddenErr} > ${tol.hidden}`);
  if (lossErr > tol.loss) failures.push(`loss rel err ${lossErr} > ${tol.loss}`);
  if (gradCos < tol.gradCos) failures.push(`gradient cosine ${gradCos} < ${tol.gradCos}`);
  if (gradRel > tol.gradRel) failures.push(`gradient rel err ${gradRel} > ${tol.gradRel}`);
  return {
    arch: cfg.arch,
    logits_rel_err: logitsErr,
    hidden_rel_err: hiddenErr,
    loss_rel_err: lossErr,
    grad_cos_min: gradCos,
    grad_rel_err: gradRel,
    ...(q4Err !== undefined ? { q4_logits_abs_err: q4Err } : {}),
    ...(tokenizationExact !== undefined ? { tokenization_exact: tokenizationExact } : {}),
    ...(step ? { step_route: step.route, step_loss_rel_err: step.lossErr, step_grad_cos: step.cos, step_grad_rel_err: step.rel } : {}),
    ok: failures.length === 0,
    failures,
  };
}
