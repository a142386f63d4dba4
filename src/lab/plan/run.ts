// Runs a whole study from a plan: load the model and tokenizer, prepare the data, train every run (general,
// KL-regularised, remove-KL continuations), then the sweeps, PCA and generations the plan asks for, and return
// the report (report.ts). runPlan reads as the list of those steps; each step is one function below that fills
// its part of the report. File and network access come from the caller (`env`), so the same code runs in Node
// and in the worker.

import type { Backend } from '../../engine/runtime/backend';
import type { FileSource } from '../../models/file_source';
import { hookName } from '../../models/hooks';
import { loadModel, type LoadedFiles } from '../../models/load';
import { LoadedModel } from '../../models/model';
import { loadTokenizer, type ChatMessage, type ChatTokenizer } from '../../models/tokenizer';
import { documentRows } from '../data/documents';
import { prepareChatDataset, type PreparedDataset } from '../data/prepare';
import type { ChatInput } from '../data/jsonl';
import type { TokenizedRow } from '../data/tokenize';
import { sampleWithoutReplacement } from '../data/split';
import { vectorNorm } from '../vectors/norm';
import { Generator } from '../generate';
import { pcaTrajectories } from '../pca';
import { checkGenerationFits, checkSequenceFits } from '../positions';
import { parseQuestionsYaml } from '../questions';
import { deriveSeed } from '../rng';
import { efficiencySweep, finewebKlSweep, stabilitySweep } from '../sweeps/sweeps';
import { adapterTarget } from '../adapters/target';
import { deltaWNorm, describeAdapter, loraFeeds, loraLayout, loraSpec, type AdapterShape } from '../adapters/lora';
import { mixRows } from '../data/mix';
import { adapterShapeOf, groupRuns, klEvaluatorFor, lossEvaluatorFor } from './params';
import { SteeringTrainer, type TrainState } from '../train/trainer';
import { PAPER_ADAMW } from '../train/optim';
import { float32ToBase64 } from '../vectors/base64';
import { REPORT_UNITS, type Report, type RunReport } from './report';
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

/** Runs `f`, prefixing any error (but a cancellation) with the plan field and value it came from. */
async function at<T>(field: string, value: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if ((e as Error)?.name === 'AbortError') throw e;
    throw new Error(`${field} "${value}": ${(e as Error)?.message ?? String(e)}`);
  }
}

interface Releasable {
  release(): Promise<void>;
}

/** What a run holds on the device: sessions (trainers, evaluators, the generator) and the model's weights. */
interface Holdings {
  own<T extends Releasable>(x: T): T;
  free(x: Releasable): Promise<void>;
  model(m: LoadedModel): LoadedModel;
}

/** What every step works with: the loaded model and tokenizer, the training data, and the runs trained so far. */
interface Study {
  plan: Plan;
  env: PlanEnv;
  log: (msg: string) => void;
  files: LoadedFiles;
  /** the commit the model's files came from (absent for a local folder) */
  revision?: string;
  model: LoadedModel;
  tok: ChatTokenizer;
  data: PreparedDataset;
  /** training rows of KL data specs (each file read once) */
  klRows(specs: string[], field: (j: number) => string): Promise<TokenizedRow[]>;
  /** final training state of each run, by name */
  finals: Map<string, TrainState>;
  /** the adapter shape of each adapter run, by name (vector runs have none) */
  shapes: Map<string, AdapterShape>;
  /** a dataset spec's prepared rows (errors name `field`) */
  prep(spec: string, rows: number | undefined, field: string): Promise<PreparedDataset>;
  /** sessions and weights to release however the run ends */
  hold: Holdings;
}

/**
 * Runs the plan; whatever way it ends (done, cancelled, failed), every session it opened is released and the
 * model's GPU buffers are freed, so a failed study in the worker leaves the device as it found it.
 */
export async function runPlan(plan: Plan, env: PlanEnv): Promise<Report> {
  const owned = new Set<Releasable>();
  let loaded: LoadedModel | undefined;
  const hold: Holdings = {
    own: (x) => (owned.add(x), x),
    free: async (x) => {
      owned.delete(x);
      await x.release();
    },
    model: (m) => (loaded = m),
  };
  try {
    return await runPlanHolding(plan, env, hold);
  } finally {
    for (const x of owned) await x.release().catch(() => {});
    loaded?.store.dispose();
  }
}

async function runPlanHolding(plan: Plan, env: PlanEnv, hold: Holdings): Promise<Report> {
  const t0 = performance.now();
  const study = await openStudy(plan, env, hold);
  const cfg = study.files.config;
  const report: Report = {
    plan,
    versions: env.versions,
    units: { ...REPORT_UNITS },
    model: { id: plan.model, ...(study.revision ? { revision: study.revision } : {}), format: study.files.format, layers: cfg.numLayers, d_model: cfg.hiddenSize, arch: cfg.arch, hook: hookName(plan.layer, plan.hook) },
    runs: {},
    seconds: 0,
  };
  await trainRuns(study, report);
  await measureHeldout(study, report);
  await measureKlEval(study, report);
  await measureEfficiencyAndStability(study, report);
  await measureFineweb(study, report);
  projectTrajectories(study, report);
  await generateAnswers(study, report);
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}

/** Model, tokenizer and training data; a dataset that cannot be read, or has no usable row, is reported under its plan field. */
async function openStudy(plan: Plan, env: PlanEnv, hold: Holdings): Promise<Study> {
  const log = env.log ?? (() => {});
  const src = env.modelSource(plan);
  log(`loading ${plan.model}`);
  const files = await at('plan.model', plan.model, () => loadModel(src));
  const model = hold.model(LoadedModel.create(env.backend, files.config, files.weights, files.format));
  const cfg = files.config;
  if (plan.layer >= cfg.numLayers) throw new Error(`invalid plan: plan.layer ${plan.layer} is outside 0..${cfg.numLayers - 1} for ${plan.model}`);
  checkSequenceFits(model.ropePositions, plan.train.max_len, `invalid plan: plan.train.max_len`);
  if (plan.fineweb) checkSequenceFits(model.ropePositions, plan.fineweb.max_tokens, `invalid plan: plan.fineweb.max_tokens`);
  const tok = await at(plan.tokenizer ? 'plan.tokenizer' : 'plan.model', plan.tokenizer ?? plan.model, () => loadTokenizer(env.tokenizerSource?.(plan) ?? src));
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
  const shapes = new Map<string, AdapterShape>();
  plan.runs.forEach((r, i) => r.adapter && shapes.set(r.name, adapterShapeOf(r.adapter, cfg, plan, `plan.runs[${i}].adapter`)));
  return { plan, env, log, files, revision: src.revision, model, tok, data, klRows, finals: new Map(), shapes, prep, hold };
}

/** The point the evaluators take: α·v for a vector run, θ itself for an adapter run. */
function effective(study: Study, name: string): Float32Array {
  const v = study.finals.get(name)!.v;
  return study.shapes.has(name) ? Float32Array.from(v) : Float32Array.from(v, (x) => x * study.plan.alpha);
}

/** Trains the runs in order (a run may start from an earlier one's vector or adapter) and reports curves and final parameters. */
async function trainRuns(study: Study, report: Report): Promise<void> {
  const { plan, env, model, tok, data, finals, shapes } = study;
  const cfg = model.config;
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
      for (const [j, spec] of m.data.entries()) sets.push((await study.prep(spec, per, `plan.runs[${i}].mix.data[${j}]`)).train);
      const mixed = mixRows(data.train, sets, m.ratio, deriveSeed(plan.seed, 'mix', run.name));
      if (mixed.added.reduce((a, b) => a + b, 0) < mixed.wanted) study.log(`plan.runs[${i}].mix: only ${mixed.added.reduce((a, b) => a + b, 0)} of ${mixed.wanted} aligned rows available`);
      trainRows = mixed.rows;
      mixInfo = { data: m.data, ratio: m.ratio, train_rows: data.train.length, added: mixed.added };
    }
    study.log(`training ${run.name} (${shape ? describeAdapter(shape) : 'steering vector'}, λ = ${run.lambda_kl}${run.init_from ? `, from ${run.init_from}` : ''}${mixInfo ? `, + ${mixInfo.added.join(' + ')} aligned rows` : ''})`);
    const trainer = study.hold.own(await SteeringTrainer.create(
      model,
      {
        layer: plan.layer,
        hook: plan.hook,
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
      { train: trainRows, kl: run.lambda_kl > 0 ? await study.klRows(run.kl_data, (j) => `plan.runs[${i}].kl_data[${j}]`) : undefined, padId: tok.padId },
      shape ? adapterTarget(model, shape) : undefined,
    ));
    const { state, cancelled } = await trainer.run({ signal: env.signal });
    await study.hold.free(trainer);
    if (cancelled) throw new DOMException('cancelled', 'AbortError');
    finals.set(run.name, state);
    const last = state.history.at(-1);
    report.runs[run.name] = {
      lambda_kl: run.lambda_kl,
      ...(run.init_from ? { init_from: run.init_from } : {}),
      loss_curve: state.history.map((h) => ({ step: h.step, loss: h.loss, ce: h.ce, kl: h.kl, norm: h.norm })),
      ce: last?.ce ?? NaN,
      kl: last?.kl ?? NaN,
      checkpoint_norms: state.checkpoints.map((c) => ({ step: c.step, norm: vectorNorm(c.v, shape ? 1 : plan.alpha) })),
      final_vector: float32ToBase64(state.v),
      final_norm: vectorNorm(state.v, shape ? 1 : plan.alpha),
      ...(shape ? { adapter: { ...shape, params: loraLayout(cfg, shape).size, delta_w_norm: deltaWNorm(cfg, shape, state.v), description: describeAdapter(shape) } } : {}),
      ...(mixInfo ? { mix: mixInfo } : {}),
    };
  }
}

/** Runs grouped by what they train: one evaluator per group (steering vectors, each adapter shape). */
function groupsOf(study: Study) {
  return groupRuns(study.plan.runs, study.shapes);
}

/** Generalisation within the domain: every run's loss on the held-out part of the training file. */
async function measureHeldout(study: Study, report: Report): Promise<void> {
  const { plan, model, tok, data } = study;
  if (!data.heldOut.length) return;
  const rows = data.heldOut.slice(0, 100);
  for (const grp of groupsOf(study)) {
    const hev = study.hold.own(await lossEvaluatorFor(model, plan, grp.shape, rows, tok.padId, study.env.signal));
    report.heldout ??= { rows: rows.length, ce_unsteered: await hev.loss(new Float32Array(grp.shape ? loraLayout(model.config, grp.shape).size : model.config.hiddenSize)) };
    for (const run of grp.runs) report.runs[run.name]!.heldout_ce = await hev.loss(effective(study, run.name));
    await study.hold.free(hev);
  }
}

/** Every run's final KL on the same KL rows, so general and narrow solutions compare on equal terms. */
async function measureKlEval(study: Study, report: Report): Promise<void> {
  const { plan, model, tok } = study;
  const klSpecs = [...new Set(plan.runs.flatMap((r) => r.kl_data))];
  if (!klSpecs.length) return;
  const rows = (await study.klRows(klSpecs, (j) => `KL data "${klSpecs[j]}"`)).slice(0, 16);
  for (const grp of groupsOf(study)) {
    const kev = study.hold.own(await klEvaluatorFor(model, plan, grp.shape, rows, tok.padId, study.env.signal));
    for (const run of grp.runs) report.runs[run.name]!.kl_eval = await kev.kl(effective(study, run.name));
    await study.hold.free(kev);
  }
}

/** Efficiency (loss vs norm) and stability (loss under orthogonal noise) on one sample of training rows. */
async function measureEfficiencyAndStability(study: Study, report: Report): Promise<void> {
  const { plan, env, model, tok, data } = study;
  if (!plan.efficiency && !plan.stability) return;
  const rows = Math.max(plan.efficiency?.rows ?? 0, plan.stability?.rows ?? 0);
  // SCIENCE.md: 100 training examples, seed 42
  const sample = sampleWithoutReplacement(data.train, rows, 42);
  if (plan.efficiency) report.efficiency = {};
  if (plan.stability) {
    report.stability = {};
    report.stability_reference = {};
  }
  for (const grp of groupsOf(study)) {
    const ev = study.hold.own(await lossEvaluatorFor(model, plan, grp.shape, sample, tok.padId, env.signal));
    if (plan.efficiency) {
      for (const run of grp.runs) {
        study.log(`efficiency: ${run.name}`);
        const x = effective(study, run.name);
        const r = await efficiencySweep(ev, x, { scales: plan.efficiency.scales, norms: plan.efficiency.norms, signal: env.signal });
        // an adapter's update B·A is quadratic in a common scale of θ
        const n0 = vectorNorm(x);
        const dw0 = grp.shape ? deltaWNorm(model.config, grp.shape, x) : 0;
        report.efficiency![run.name] = [...r.byScale, ...r.byNorm].map((p) => ({ ...(p.scale !== undefined ? { scale: p.scale } : {}), norm: p.norm, loss: p.loss, ...(p.lossPerNormSq !== undefined ? { loss_per_norm_sq: p.lossPerNormSq } : {}), ...(grp.shape ? { delta_w_norm: n0 > 0 ? dw0 * (p.norm / n0) ** 2 : 0 } : {}) }));
      }
    }
    if (plan.stability) {
      for (const run of grp.runs) {
        study.log(`stability: ${run.name}`);
        const r = await stabilitySweep(ev, effective(study, run.name), { eps: plan.stability.eps, seeds: plan.stability.seeds, seed: plan.seed, signal: env.signal });
        report.stability![run.name] = r.points.map((p) => ({ eps: p.eps, mean: p.mean, sd: p.sd }));
        report.stability_reference![run.name] = { loss_trained: r.lossTrained, loss_chat: r.lossChat };
      }
    }
    await study.hold.free(ev);
  }
}

/** Pre-training significance: KL on FineWeb documents against the norm, trained and random directions (or adapters). */
async function measureFineweb(study: Study, report: Report): Promise<void> {
  const { plan, env, model, tok } = study;
  if (!plan.fineweb) return;
  study.log(`fineweb: ${plan.fineweb.docs} documents`);
  const docs = await at('plan.fineweb.source', plan.fineweb.source, () => env.finewebDocs(plan, plan.fineweb!.docs));
  if (!docs.length) throw new Error(`plan.fineweb.source "${plan.fineweb.source}": no document longer than 100 characters`);
  const docRows = documentRows(tok, docs, plan.fineweb.max_tokens);
  report.fineweb = {};
  for (const grp of groupsOf(study)) {
    const kev = study.hold.own(await klEvaluatorFor(model, plan, grp.shape, docRows, tok.padId, env.signal));
    const vectors = Object.fromEntries(grp.runs.map((r) => [r.name, effective(study, r.name)]));
    const r = await finewebKlSweep(kev, vectors, { norms: plan.fineweb.norms, randomSeeds: plan.fineweb.random_seeds, signal: env.signal });
    // random baselines have the group's shape: random vectors keep their names, random adapters name their shape
    for (const [k, pts] of Object.entries(r)) report.fineweb[grp.shape && k.startsWith('random_') && !vectors[k] ? `${k}_like_${grp.runs[0]!.name}` : k] = pts;
    await study.hold.free(kev);
  }
}

/** Training trajectories: the checkpoints of the named runs projected on their principal components. */
function projectTrajectories(study: Study, report: Report): void {
  const { plan, finals } = study;
  if (!plan.pca) return;
  const runs = plan.pca.runs.map((name) => ({ name, checkpoints: finals.get(name)!.checkpoints.map((c) => c.v) }));
  const r = pcaTrajectories(runs, { k: plan.pca.k });
  report.pca = { explained_variance: r.explainedVariance, explained_variance_ratio: r.explainedVarianceRatio, coords: Object.fromEntries(r.projections.map((p) => [p.name, p.coords])) };
}

/** The questions of plan.generate: literal ones, or question files (plain variants, first paraphrase, their system prompt). */
async function readQuestions(study: Study): Promise<{ id?: string; question: string; system: string | null }[]> {
  const { plan, env } = study;
  const questions: { id?: string; question: string; system: string | null }[] = [];
  for (const [j, q] of plan.generate!.questions.entries()) {
    if (!/\.ya?ml$/i.test(q)) {
      questions.push({ question: q, system: null });
      continue;
    }
    const parsed = await at(`plan.generate.questions[${j}]`, q, async () => {
      if (!env.readText) throw new Error('this environment cannot read question files');
      const list = parseQuestionsYaml(await env.readText(q, plan), { source: q });
      if (!list.length) throw new Error('the file has no plain-variant question');
      return list;
    });
    for (const e of parsed) questions.push({ id: e.id, question: e.question, system: e.system });
  }
  return questions;
}

/** Sampled answers of the steered model (or the model with a run's adapter) to each question, per run named in plan.generate. */
async function generateAnswers(study: Study, report: Report): Promise<void> {
  const { plan, env, model, tok, finals, shapes } = study;
  if (!plan.generate) return;
  const cfg = model.config;
  const questions = await readQuestions(study);
  // one generator for the vectors, one per adapter shape (its factors are graph inputs)
  const gens = new Map<string, Generator>();
  const genFor = async (shape: AdapterShape | undefined) => {
    const k = shape ? JSON.stringify(shape) : 'vector';
    if (!gens.has(k)) gens.set(k, study.hold.own(await Generator.create(model, plan.layer, shape ? undefined : plan.hook, shape ? loraSpec(shape) : undefined)));
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
      const messages: ChatMessage[] = [...(system ? [{ role: 'system' as const, content: system }] : []), { role: 'user', content: q }];
      const prompt = tok.applyChatTemplate(messages, { addGenerationPrompt: true });
      await at(`plan.generate.questions[${qi}]`, q.slice(0, 60), async () => checkGenerationFits(model.ropePositions, prompt.length, plan.generate!.max_new_tokens));
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
  for (const g of gens.values()) await study.hold.free(g);
}
