// The plan fields of issue 10, parsed beside schema.ts:
//   runs[i].adapter: {"kind": "lora", "rank": 1, "modules": ["down"] | "all", "layers": [..] | "all" | "steer", "alpha": 256}
//                    or {"preset": "r1-down-all" | "r32-all-linear" | "r1-down-steer"}
//   runs[i].mix:     {"data": ["non_med_aligned", ...], "ratio": 1}   aligned rows added = ratio × training rows
// Errors name the field path, as schema.ts does.

import { ADAPTER_PRESETS, type AdapterPresetId } from '../adapters/presets';
import { LORA_MODULES, parseModule } from '../adapters/lora';

export interface PlanAdapter {
  kind: 'lora';
  rank: number;
  alpha: number;
  /** short module names (q, k, v, o, gate, up, down) */
  modules: string[];
  /** block indices, "all" layers, or "steer" (the plan's steering layer) */
  layers: number[] | 'all' | 'steer';
  /** the preset this came from, if any */
  preset?: AdapterPresetId;
}

export interface PlanMix {
  data: string[];
  /** aligned rows added per harmful training row */
  ratio: number;
}

/** Upper bounds, as schema.ts's PLAN_LIMITS: a typo is refused when the plan is read (layer as PLAN_LIMITS.layer). */
export const ADAPTER_LIMITS = { rank: 4096, layer: 1024, ratio: 1000, list: 10_000 } as const;

type J = Record<string, unknown>;

function fail(msg: string): never {
  throw new Error(msg);
}

function only(o: J, at: string, keys: string[]): void {
  for (const k of Object.keys(o)) if (!k.startsWith('_') && !keys.includes(k)) fail(`${at}.${k} is not a plan field (expected one of: ${keys.join(', ')})`);
}

function isObj(x: unknown): x is J {
  return !!x && typeof x === 'object' && !Array.isArray(x);
}

export function parsePlanAdapter(x: unknown, at: string): PlanAdapter {
  if (!isObj(x)) fail(`${at} must be an object`);
  if (x.preset !== undefined) {
    // a parsed plan written back out carries the preset's fields too: accept them when they agree
    only(x, at, ['preset', 'kind', 'rank', 'modules', 'layers', 'alpha']);
    const id = x.preset as AdapterPresetId;
    if (typeof id !== 'string' || !(id in ADAPTER_PRESETS)) fail(`${at}.preset must be one of ${Object.keys(ADAPTER_PRESETS).join(', ')}`);
    const p = ADAPTER_PRESETS[id];
    const out: PlanAdapter = { kind: 'lora', rank: p.rank, alpha: p.alpha, modules: [...p.modules], layers: p.layers, preset: id };
    for (const k of ['kind', 'rank', 'alpha', 'modules', 'layers'] as const) {
      if (x[k] !== undefined && JSON.stringify(x[k]) !== JSON.stringify(out[k])) fail(`${at}.${k} ${JSON.stringify(x[k])} conflicts with preset "${id}" (${JSON.stringify(out[k])}); give the preset or the fields`);
    }
    return out;
  }
  only(x, at, ['kind', 'rank', 'modules', 'layers', 'alpha']);
  if ((x.kind ?? 'lora') !== 'lora') fail(`${at}.kind must be "lora"`);
  const rank = x.rank;
  if (typeof rank !== 'number' || !Number.isInteger(rank) || rank < 1) fail(`${at}.rank must be a positive integer`);
  if (rank > ADAPTER_LIMITS.rank) fail(`${at}.rank ${rank} is above ${ADAPTER_LIMITS.rank}`);
  const alpha = x.alpha ?? rank;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha <= 0) fail(`${at}.alpha must be a positive number`);
  let modules: string[];
  if (x.modules === 'all') modules = [...LORA_MODULES];
  else {
    const m = typeof x.modules === 'string' ? [x.modules] : x.modules;
    if (!Array.isArray(m) || !m.length || m.length > ADAPTER_LIMITS.list || m.some((s) => typeof s !== 'string')) fail(`${at}.modules must be "all" or a non-empty list of module names (${LORA_MODULES.join(', ')})`);
    modules = (m as string[]).map((s, i) => {
      try {
        return parseModule(s);
      } catch (e) {
        fail(`${at}.modules[${i}]: ${(e as Error).message}`);
      }
    });
  }
  let layers: PlanAdapter['layers'];
  if (x.layers === 'all' || x.layers === 'steer') layers = x.layers;
  else if (Array.isArray(x.layers) && x.layers.length && x.layers.every((l) => typeof l === 'number' && Number.isInteger(l) && l >= 0)) {
    if (x.layers.length > ADAPTER_LIMITS.list) fail(`${at}.layers has ${x.layers.length} entries (at most ${ADAPTER_LIMITS.list})`);
    const bad = (x.layers as number[]).findIndex((l) => l > ADAPTER_LIMITS.layer);
    if (bad >= 0) fail(`${at}.layers[${bad}] ${(x.layers as number[])[bad]} is above ${ADAPTER_LIMITS.layer}`);
    layers = x.layers as number[];
  } else fail(`${at}.layers must be "all", "steer" or a non-empty list of block indices (integers >= 0)`);
  return { kind: 'lora', rank, alpha, modules: [...new Set(modules)], layers };
}

export function parsePlanMix(x: unknown, at: string): PlanMix {
  if (!isObj(x)) fail(`${at} must be an object`);
  only(x, at, ['data', 'ratio']);
  const d = typeof x.data === 'string' ? [x.data] : x.data;
  if (!Array.isArray(d) || !d.length || d.some((s) => typeof s !== 'string' || !s)) fail(`${at}.data must be a dataset or a non-empty list of datasets`);
  if (d.length > ADAPTER_LIMITS.list) fail(`${at}.data has ${d.length} entries (at most ${ADAPTER_LIMITS.list})`);
  const ratio = x.ratio ?? 1;
  if (typeof ratio !== 'number' || !Number.isFinite(ratio) || ratio <= 0) fail(`${at}.ratio must be a positive number (aligned rows per training row)`);
  if (ratio > ADAPTER_LIMITS.ratio) fail(`${at}.ratio ${ratio} is above ${ADAPTER_LIMITS.ratio}`);
  return { data: d as string[], ratio };
}

/** Two runs train the same kind of parameters (PCA, init_from) iff these strings are equal. */
export function parameterKind(a: PlanAdapter | undefined): string {
  if (!a) return 'steering vector';
  const layers = Array.isArray(a.layers) ? [...a.layers].sort((p, q) => p - q).join(',') : a.layers;
  return `LoRA rank ${a.rank} alpha ${a.alpha} on ${[...a.modules].sort().join(',')} at layers ${layers}`;
}
