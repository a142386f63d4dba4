// Runs a whole study from a plan: load the model and tokenizer, prepare the data, train every run (general,
// KL-regularised, remove-KL continuations), then the sweeps, PCA and generations the plan asks for, and return
// the report (plan, library versions, per-run curves/checkpoints/final vector, the numbers behind each plot).
// File and network access come from the caller (`env`), so the same code runs in Node and in the worker.

import type { Backend } from '../../engine/runtime/backend';
import type { FileSource } from '../../models/file_source';
import { loadModel } from '../../models/load';
import { LoadedModel } from '../../models/model';
import { loadTokenizer, type ChatTokenizer } from '../../models/tokenizer';
import { prepareChatDataset } from '../data/prepare';
import type { ChatInput } from '../data/jsonl';
import type { TokenizedRow } from '../data/tokenize';
import { sampleWithoutReplacement } from '../data/split';
import { norm } from '../feeds';
import { Generator } from '../generate';
import { pcaTrajectories } from '../pca';
import { parseQuestionsYaml } from '../questions';
import { deriveSeed } from '../rng';
import { efficiencySweep, finewebKlSweep, stabilitySweep } from '../sweeps/sweeps';
import { adapterTarget } from '../adapters/target';
import { deltaWNorm, describeAdapter, loraFeeds, loraLayout, loraSpec, type AdapterShape } from '../adapters/lora';
import { mixRows } from '../data/mix';
import { adapterShapeOf, groupRuns, klEvaluatorFor, lossEvaluatorFor } from './params';
import { SteeringTrainer, type TrainState } from '../train/trainer';
import { PAPER_ADAMW } from '../train/optim';
import type { Plan } from './schema';

export interface PlanEnv {
  backend: Backend;
  /** the model's files (folder or Hub repository named by plan.model) */
  modelSource(plan: Plan): FileSource;
  tokenizerSource?(plan: Plan): FileSource;
  /** a dataset spec (preset name, path or URL) → something readChatJsonl reads */
  dataset(spec: string, plan: Plan): Promise<ChatInput>;
  /** FineWeb documents for plan.fineweb */
  finewebDocs(plan: Plan, n: number): Promise<string[]>;
  /** text of a question file named in plan.generate.questions (.yaml/.yml: a path or URL) */
  readText?(spec: string, plan: Plan): Promise<string>;
  versions: Record<string, string>;
  log?: (msg: string) => void;
  signal?: AbortSignal;
}

export interface RunReport {
  lambda_kl: number;
  init_from?: string;
  loss_curve: { step: number; loss: number; ce: number; kl: number; norm: number }[];
  ce: number;
  kl: number;
  checkpoint_norms: { step: number; norm: number }[];
  /** raw v, little-endian float32, standard base64 (RFC 4648 §4, padded); the effective vector is alpha · v */
  final_vector: string;
  final_norm: number;
  /** mean per-token KL(p_chat ‖ p_steered) of the final vector on held KL rows (every run, λ = 0 included) */
  kl_eval?: number;
  /** SFT loss of the final vector on the held-out 10 % of the training file (up to 100 rows) */
  heldout_ce?: number;
  /** adapter runs: the shape; final_vector then holds θ (PEFT layout, see lab/adapters/lora.ts) and final_norm ‖θ‖ */
  adapter?: { kind: 'lora'; rank: number; alpha: number; keys: string[]; params: number; /** ‖ΔW‖_F (absent in reports the app writes: the page has no layer shapes) */ delta_w_norm?: number; description: string };
  /** mixed-data runs: aligned rows added to the training rows */
  mix?: { data: string[]; ratio: number; train_rows: number; added: number[] };
}

export interface Report {
  plan: Plan;
  versions: Record<string, string>;
  model: { id: string; format: string; layers: number; d_model: number; arch: string };
  runs: Record<string, RunReport>;
  /** adapter runs' points also carry delta_w_norm (‖ΔW‖_F, quadratic in the scale) */
  efficiency?: Record<string, { scale?: number; norm: number; loss: number; loss_per_norm_sq?: number; delta_w_norm?: number }[]>;
  stability?: Record<string, { eps: number; mean: number; sd: number }[]>;
  stability_reference?: Record<string, { loss_trained: number; loss_chat: number }>;
  fineweb?: Record<string, { norm: number; kl: number }[]>;
  pca?: { explained_variance: number[]; explained_variance_ratio: number[]; coords: Record<string, number[][]> };
  generate?: Record<string, { id?: string; question: string; samples: string[] }[]>;
  /** the held-out rows the runs' heldout_ce is measured on, and their loss without steering */
  heldout?: { rows: number; ce_unsteered: number };
  seconds: number;
}

/**
 * Standard padded base64, not the URL-safe alphabet: reports are read by other tools, and Python's
 * base64.b64decode silently drops '-' and '_' (it does not reject them), which would corrupt the vector.
 */
export function vectorToBase64(v: Float32Array): string {
  const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** FineWeb documents → rows tokenised WITHOUT a chat template (special tokens as the tokenizer adds them). */
export function documentRows(tok: ChatTokenizer, docs: string[], maxTokens: number): TokenizedRow[] {
  return docs.map((text, i) => {
    const ids = tok.encode(text, { addSpecial: true }).slice(0, maxTokens);
    return { line: i + 1, ids: Int32Array.from(ids), lossMask: new Uint8Array(ids.length), promptLen: 0, fullLen: ids.length, prefixFallback: false };
  });
}

/** Runs `f`, prefixing any error (but a cancellation) with the plan field and value it came from. */
async function at<T>(field: string, value: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if ((e as Error)?.name === 'AbortError') throw e;
    throw new Error(`${field} "${value}": ${(e as Error)?.message ?? String(e)}`);
  }
}

export async function runPlan(plan: Plan, env: PlanEnv): Promise<Report> {
  const t0 = performance.now();
  const log = env.log ?? (() => {});
  const src = env.modelSource(plan);
  log(`loading ${plan.model}`);
  const files = await at('plan.model', plan.model, () => loadModel(src));
  const model = LoadedModel.create(env.backend, files.config, files.weights, files.format);
  const cfg = files.config;
  if (plan.layer >= cfg.numLayers) throw new Error(`invalid plan: plan.layer ${plan.layer} is outside 0..${cfg.numLayers - 1} for ${plan.model}`);
  const tok = await at(plan.tokenizer ? 'plan.tokenizer' : 'plan.model', plan.tokenizer ?? plan.model, () => loadTokenizer(env.tokenizerSource?.(plan) ?? src));
  // a dataset that cannot be read, or has no usable row, is reported under the plan field that named it
  const prep = (spec: string, rows: number | undefined, field: string) =>
    at(field, spec, async () => {
      const d = await prepareChatDataset(await env.dataset(spec, plan), tok, { labels: plan.train.labels, maxLen: plan.train.max_len, limit: rows, seed: plan.seed });
      if (!d.train.length) {
        const why = d.report.bad.length ? `${d.report.bad.length} bad lines (first: line ${d.report.bad[0]!.line}: ${d.report.bad[0]!.reason})` : `no row keeps a label within max_len ${plan.train.max_len}`;
        throw new Error(`no usable training rows: ${why}`);
      }
      if (d.report.bad.length) log(`${field}: skipped ${d.report.bad.length} bad lines (first: line ${d.report.bad[0]!.line}: ${d.report.bad[0]!.reason})`);
      return d;
    });
  log(`preparing ${plan.train.data}`);
  const data = await prep(plan.train.data, plan.train.rows, 'plan.train.data');
  const klCache = new Map<string, TokenizedRow[]>();
  const klRows = async (specs: string[], field: (j: number) => string) => {
    const out: TokenizedRow[] = [];
    for (const [j, s] of specs.entries()) {
      if (!klCache.has(s)) klCache.set(s, (await prep(s, plan.train.kl_rows, field(j))).train);
      out.push(...klCache.get(s)!);
    }
    return out;
  };

  const report: Report = {
    plan,
    versions: env.versions,
    model: { id: plan.model, format: files.format, layers: cfg.numLayers, d_model: cfg.hiddenSize, arch: cfg.arch },
    runs: {},
    seconds: 0,
  };
  const finals = new Map<string, TrainState>();
  const shapes = new Map<string, AdapterShape>();
  plan.runs.forEach((r, i) => r.adapter && shapes.set(r.name, adapterShapeOf(r.adapter, cfg, plan, `plan.runs[${i}].adapter`)));
  for (const [i, run] of plan.runs.entries()) {
    const init = run.init_from ? finals.get(run.init_from)!.v : undefined;
    const shape = shapes.get(run.name);
    let trainRows = data.train;
    let mixInfo: RunReport['mix'];
    if (run.mix) {
      const m = run.mix;
      // enough rows from each set for its share (10 % of each file is held out)
      const per = Math.ceil((m.ratio * data.train.length) / m.data.length / 0.9) + 1;
      const sets: TokenizedRow[][] = [];
      for (const [j, spec] of m.data.entries()) sets.push((await prep(spec, per, `plan.runs[${i}].mix.data[${j}]`)).train);
      const mixed = mixRows(data.train, sets, m.ratio, deriveSeed(plan.seed, 'mix', run.name));
      if (mixed.added.reduce((a, b) => a + b, 0) < mixed.wanted) log(`plan.runs[${i}].mix: only ${mixed.added.reduce((a, b) => a + b, 0)} of ${mixed.wanted} aligned rows available`);
      trainRows = mixed.rows;
      mixInfo = { data: m.data, ratio: m.ratio, train_rows: data.train.length, added: mixed.added };
    }
    log(`training ${run.name} (${shape ? describeAdapter(shape) : 'steering vector'}, λ = ${run.lambda_kl}${run.init_from ? `, from ${run.init_from}` : ''}${mixInfo ? `, + ${mixInfo.added.join(' + ')} aligned rows` : ''})`);
    const trainer = await SteeringTrainer.create(
      model,
      {
        layer: plan.layer,
        alpha: plan.alpha,
        microBatch: plan.train.batch,
        accumulation: plan.train.accumulation,
        epochs: run.steps !== undefined ? undefined : (run.epochs ?? plan.train.epochs),
        steps: run.steps ?? (run.epochs !== undefined ? undefined : plan.train.steps),
        warmup: plan.train.warmup,
        optim: { ...PAPER_ADAMW, lr: plan.train.lr },
        lambdaKl: run.lambda_kl,
        klBatch: plan.train.kl_batch,
        checkpointEvery: plan.train.checkpoint_every,
        seed: plan.seed,
        init,
      },
      { train: trainRows, kl: run.lambda_kl > 0 ? await klRows(run.kl_data, (j) => `plan.runs[${i}].kl_data[${j}]`) : undefined, padId: tok.padId },
      shape ? adapterTarget(model, shape) : undefined,
    );
    const { state, cancelled } = await trainer.run({ signal: env.signal });
    await trainer.release();
    if (cancelled) throw new DOMException('cancelled', 'AbortError');
    finals.set(run.name, state);
    const last = state.history.at(-1);
    report.runs[run.name] = {
      lambda_kl: run.lambda_kl,
      ...(run.init_from ? { init_from: run.init_from } : {}),
      loss_curve: state.history.map((h) => ({ step: h.step, loss: h.loss, ce: h.ce, kl: h.kl, norm: h.norm })),
      ce: last?.ce ?? NaN,
      kl: last?.kl ?? NaN,
      checkpoint_norms: state.checkpoints.map((c) => ({ step: c.step, norm: (shape ? 1 : plan.alpha) * norm(c.v) })),
      final_vector: vectorToBase64(state.v),
      final_norm: (shape ? 1 : plan.alpha) * norm(state.v),
      ...(shape ? { adapter: { ...shape, params: loraLayout(cfg, shape).size, delta_w_norm: deltaWNorm(cfg, shape, state.v), description: describeAdapter(shape) } } : {}),
      ...(mixInfo ? { mix: mixInfo } : {}),
    };
  }
  /** the point the evaluators take: α·v for a vector, θ itself for an adapter */
  const effective = (name: string) => (shapes.has(name) ? Float32Array.from(finals.get(name)!.v) : Float32Array.from(finals.get(name)!.v, (x) => x * plan.alpha));
  const groups = groupRuns(plan.runs, shapes);

  // generalisation within the domain: the held-out part of the training file
  if (data.heldOut.length) {
    const rows = data.heldOut.slice(0, 100);
    for (const grp of groups) {
      const hev = await lossEvaluatorFor(model, plan, grp.shape, rows, tok.padId, env.signal);
      report.heldout ??= { rows: rows.length, ce_unsteered: await hev.loss(new Float32Array(grp.shape ? loraLayout(cfg, grp.shape).size : cfg.hiddenSize)) };
      for (const run of grp.runs) report.runs[run.name]!.heldout_ce = await hev.loss(effective(run.name));
      await hev.release();
    }
  }

  // every run's final KL on the same KL rows, so general and narrow solutions compare on equal terms
  const klSpecs = [...new Set(plan.runs.flatMap((r) => r.kl_data))];
  if (klSpecs.length) {
    const rows = (await klRows(klSpecs, (j) => `KL data "${klSpecs[j]}"`)).slice(0, 16);
    for (const grp of groups) {
      const kev = await klEvaluatorFor(model, plan, grp.shape, rows, tok.padId, env.signal);
      for (const run of grp.runs) report.runs[run.name]!.kl_eval = await kev.kl(effective(run.name));
      await kev.release();
    }
  }

  if (plan.efficiency || plan.stability) {
    const rows = Math.max(plan.efficiency?.rows ?? 0, plan.stability?.rows ?? 0);
    // SCIENCE.md: 100 training examples, seed 42
    const sample = sampleWithoutReplacement(data.train, rows, 42);
    if (plan.efficiency) report.efficiency = {};
    if (plan.stability) {
      report.stability = {};
      report.stability_reference = {};
    }
    for (const grp of groups) {
      const ev = await lossEvaluatorFor(model, plan, grp.shape, sample, tok.padId, env.signal);
      if (plan.efficiency) {
        for (const run of grp.runs) {
          log(`efficiency: ${run.name}`);
          const x = effective(run.name);
          const r = await efficiencySweep(ev, x, { scales: plan.efficiency.scales, norms: plan.efficiency.norms, signal: env.signal });
          // an adapter's update B·A is quadratic in a common scale of θ
          const n0 = norm(x);
          const dw0 = grp.shape ? deltaWNorm(cfg, grp.shape, x) : 0;
          report.efficiency![run.name] = [...r.byScale, ...r.byNorm].map((p) => ({ ...(p.scale !== undefined ? { scale: p.scale } : {}), norm: p.norm, loss: p.loss, ...(p.lossPerNormSq !== undefined ? { loss_per_norm_sq: p.lossPerNormSq } : {}), ...(grp.shape ? { delta_w_norm: n0 > 0 ? dw0 * (p.norm / n0) ** 2 : 0 } : {}) }));
        }
      }
      if (plan.stability) {
        for (const run of grp.runs) {
          log(`stability: ${run.name}`);
          const r = await stabilitySweep(ev, effective(run.name), { eps: plan.stability.eps, seeds: plan.stability.seeds, seed: plan.seed, signal: env.signal });
          report.stability![run.name] = r.points.map((p) => ({ eps: p.eps, mean: p.mean, sd: p.sd }));
          report.stability_reference![run.name] = { loss_trained: r.lossTrained, loss_chat: r.lossChat };
        }
      }
      await ev.release();
    }
  }

  if (plan.fineweb) {
    log(`fineweb: ${plan.fineweb.docs} documents`);
    const docs = await at('plan.fineweb.source', plan.fineweb.source, () => env.finewebDocs(plan, plan.fineweb!.docs));
    if (!docs.length) throw new Error(`plan.fineweb.source "${plan.fineweb.source}": no document longer than 100 characters`);
    const docRows = documentRows(tok, docs, plan.fineweb.max_tokens);
    report.fineweb = {};
    for (const grp of groups) {
      const kev = await klEvaluatorFor(model, plan, grp.shape, docRows, tok.padId, env.signal);
      const vectors = Object.fromEntries(grp.runs.map((r) => [r.name, effective(r.name)]));
      const r = await finewebKlSweep(kev, vectors, { norms: plan.fineweb.norms, randomSeeds: plan.fineweb.random_seeds, signal: env.signal });
      // random baselines have the group's shape: random vectors keep their names, random adapters name their shape
      for (const [k, pts] of Object.entries(r)) report.fineweb[grp.shape && k.startsWith('random_') && !vectors[k] ? `${k}_like_${grp.runs[0]!.name}` : k] = pts;
      await kev.release();
    }
  }

  if (plan.pca) {
    const runs = plan.pca.runs.map((name) => ({ name, checkpoints: finals.get(name)!.checkpoints.map((c) => c.v) }));
    const r = pcaTrajectories(runs, { k: plan.pca.k });
    report.pca = { explained_variance: r.explainedVariance, explained_variance_ratio: r.explainedVarianceRatio, coords: Object.fromEntries(r.projections.map((p) => [p.name, p.coords])) };
  }

  if (plan.generate) {
    // literal questions, or question files (the plain variants, first paraphrase, with their system prompt if any)
    const questions: { id?: string; question: string; system: string | null }[] = [];
    for (const [j, q] of plan.generate.questions.entries()) {
      if (!/\.ya?ml$/i.test(q)) {
        questions.push({ question: q, system: null });
        continue;
      }
      const field = `plan.generate.questions[${j}]`;
      const parsed = await at(field, q, async () => {
        if (!env.readText) throw new Error('this environment cannot read question files');
        const list = parseQuestionsYaml(await env.readText(q, plan), { source: q });
        if (!list.length) throw new Error('the file has no plain-variant question');
        return list;
      });
      for (const e of parsed) questions.push({ id: e.id, question: e.question, system: e.system });
    }
    // one generator for the vectors, one per adapter shape (its factors are graph inputs)
    const gens = new Map<string, Generator>();
    const genFor = async (shape: AdapterShape | undefined) => {
      const k = shape ? JSON.stringify(shape) : 'vector';
      if (!gens.has(k)) gens.set(k, await Generator.create(model, plan.layer, shape ? loraSpec(shape) : undefined));
      return gens.get(k)!;
    };
    report.generate = {};
    for (const name of plan.generate.runs) {
      report.generate[name] = [];
      const shape = shapes.get(name);
      const gen = await genFor(shape);
      // an adapter run generates with its adapter and no vector
      const steer = shape ? { v: new Float32Array(cfg.hiddenSize), alpha: 0 } : { v: finals.get(name)!.v, alpha: plan.alpha };
      const lora = shape ? loraFeeds(cfg, shape, finals.get(name)!.v) : undefined;
      for (const [qi, { id, question: q, system }] of questions.entries()) {
        const messages = [...(system ? [{ role: 'system', content: system }] : []), { role: 'user', content: q }];
        const prompt = tok.applyChatTemplate(messages, { addGenerationPrompt: true });
        const outs = await gen.generate(prompt, steer, {
          lora,
          maxNewTokens: plan.generate.max_new_tokens,
          temperature: plan.generate.temperature,
          topP: plan.generate.top_p,
          seed: deriveSeed(plan.seed, 'generate', qi),
          eos: tok.eosIds,
          strength: 1,
          batch: plan.generate.samples,
          signal: env.signal,
        });
        report.generate[name]!.push({ ...(id ? { id } : {}), question: q, samples: outs.map((ids) => tok.decode(ids, { skipSpecial: true })) });
      }
    }
    for (const g of gens.values()) await g.release();
  }
  model.store.dispose();
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}
