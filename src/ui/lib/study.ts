// The vectors an analysis compares: the runs' current vectors (general, narrow, remove-KL) for the loaded
// model, plus library vectors the user ticked. Each comes as its effective vector α·v with a stable name and
// colour, so every chart uses the same legend.

import { vectorFits } from '../../lab/vectors/match';
import { adapterFits } from '../../lab/adapters/match';
import { hookName, type HookPoint } from '../../models/hooks';
import { vectorNorm } from '../../lab/vectors/norm';
import { effectiveVector } from '../../lab/vectors/vector';
import { useMemo } from 'react';
import { useLab, type LabState } from '../store/store';
import type { RunSlot } from '../store/types';
import type { AdapterInput } from '../../worker/protocol';

export interface StudyVector {
  key: string;
  label: string;
  layer: number;
  /** absent: blocks.L.hook_resid_post */
  hook?: HookPoint;
  effective: Float32Array;
  norm: number;
  color: string;
  /** a LoRA run: `effective` is its θ, evaluated as an adapter (norms are ‖θ‖) */
  adapter?: AdapterInput;
  /** fingerprint of the effective vector (or θ and the adapter's shape): a result made from it is stale once this changes */
  print: string;
}

export const RUN_SHORT: Record<RunSlot, string> = { general: 'general', narrow: 'narrow', removeKl: 'narrow → remove KL' };
export const RUN_COLORS: Record<RunSlot, string> = { general: '#d9480f', narrow: '#1971c2', removeKl: '#7048e8' };
const OTHER_COLORS = ['#2b8a3e', '#c2255c', '#e67700', '#0c8599', '#5f3dc4', '#495057'];
export const RANDOM_COLOR = '#868e96';

/** The loaded model as vectorFits wants it (repository, layers, width), or undefined. */
export function modelShape(info: { repo: string; layers: number; dModel: number } | undefined) {
  return info ? { repo: info.repo, layers: info.layers, dModel: info.dModel } : undefined;
}

/** FNV-1a over the float32 bits: equal vectors, equal prints; any retraining or rescaling changes it. */
export function fingerprint(v: Float32Array): string {
  const u = new Uint32Array(v.buffer, v.byteOffset, v.length);
  let h = 0x811c9dc5;
  for (let i = 0; i < u.length; i++) {
    h ^= u[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `${v.length}:${h.toString(36)}`;
}

/** A result's print of a study vector: its fingerprint, plus the hook point when it is not the block output. */
function printOf(eff: Float32Array, hook?: HookPoint): string {
  return hook && hook !== 'resid_post' ? `${fingerprint(eff)}@${hook}` : fingerprint(eff);
}

/** An adapter's print: θ's fingerprint and the shape that reads it (rank, α, which modules). */
function adapterPrint(a: AdapterInput): string {
  let h = 0;
  const keys = a.shape.keys.join(',');
  for (let i = 0; i < keys.length; i++) h = (Math.imul(h, 31) + keys.charCodeAt(i)) >>> 0;
  return `lora:r${a.shape.rank}:a${a.shape.alpha}:${a.shape.keys.length}.${h.toString(36)}:${fingerprint(a.data)}`;
}

/** A library vector's colour follows its id, so it keeps its colour in every chart whatever else is ticked. */
export function libraryColor(id: string): string {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (Math.imul(h, 31) + id.charCodeAt(i)) >>> 0;
  return OTHER_COLORS[h % OTHER_COLORS.length]!;
}

export function studyVectors(s: Pick<LabState, 'runs' | 'vectors' | 'studyIds' | 'model'> & Partial<Pick<LabState, 'adapters'>>): StudyVector[] {
  const m = modelShape(s.model.info);
  if (!m) return [];
  const out: StudyVector[] = [];
  for (const slot of ['general', 'narrow', 'removeKl'] as RunSlot[]) {
    const r = s.runs[slot];
    const v = r?.state?.v;
    if (!r || !v) continue;
    if (r.settings.adapter) {
      if (!adapterFits({ modelId: r.modelRepo, keys: r.settings.adapter.keys }, m)) continue;
      const adapter = { shape: r.settings.adapter, data: v, modelId: r.modelRepo };
      out.push({ key: slot, label: `${RUN_SHORT[slot]} (LoRA r${r.settings.adapter.rank})`, layer: r.settings.layer, effective: v, norm: vectorNorm(v), color: RUN_COLORS[slot], adapter, print: adapterPrint(adapter) });
      continue;
    }
    if (!vectorFits({ modelId: r.modelRepo, layer: r.settings.layer, data: v }, m)) continue;
    const eff = Float32Array.from(v, (x) => x * r.settings.alpha);
    out.push({ key: slot, label: RUN_SHORT[slot], layer: r.settings.layer, hook: r.settings.hook, effective: eff, norm: vectorNorm(eff), color: RUN_COLORS[slot], print: printOf(eff, r.settings.hook) });
  }
  for (const id of s.studyIds) {
    const v = s.vectors.find((x) => x.id === id);
    if (!v || !vectorFits(v, m)) continue;
    const eff = effectiveVector(v);
    out.push({ key: v.id, label: v.name, layer: v.layer, hook: v.hook, effective: eff, norm: v.norm, color: libraryColor(v.id), print: printOf(eff, v.hook) });
  }
  // ticked library adapters of the loaded model, evaluated as θ
  for (const id of s.studyIds) {
    const a = s.adapters?.find((x) => x.id === id);
    if (!a || !adapterFits({ modelId: a.modelId, keys: a.adapter.keys }, m)) continue;
    const { data, ...shape } = a.adapter;
    const adapter = { shape, data, modelId: a.modelId };
    out.push({ key: a.id, label: a.name, layer: s.model.info?.defaultLayer ?? 0, effective: data, norm: a.norm, color: libraryColor(a.id), adapter, print: adapterPrint(adapter) });
  }
  return out;
}

export function colorOf(list: StudyVector[], key: string): string {
  if (key.startsWith('random_')) return RANDOM_COLOR;
  return list.find((v) => v.key === key)?.color ?? RANDOM_COLOR;
}

export function labelOf(list: StudyVector[], key: string): string {
  if (key.startsWith('random_')) return `random (seed ${key.slice(7)})`;
  return list.find((v) => v.key === key)?.label ?? key;
}

/** Vectors grouped by hook (layer and point): each analysis job runs at one hook. */
export function byHook(list: StudyVector[]): [{ layer: number; hook?: HookPoint }, StudyVector[]][] {
  const m = new Map<string, [{ layer: number; hook?: HookPoint }, StudyVector[]]>();
  for (const v of list) {
    const key = hookName(v.layer, v.hook);
    const g = m.get(key) ?? [{ layer: v.layer, ...(v.hook && v.hook !== 'resid_post' ? { hook: v.hook } : {}) }, []];
    g[1].push(v);
    m.set(key, g);
  }
  return [...m.values()];
}

/** studyVectors for components, recomputed only when its inputs change. */
export function useStudy(): StudyVector[] {
  const runs = useLab((s) => s.runs);
  const vectors = useLab((s) => s.vectors);
  const studyIds = useLab((s) => s.studyIds);
  const model = useLab((s) => s.model);
  const adapters = useLab((s) => s.adapters);
  return useMemo(() => studyVectors({ runs, vectors, studyIds, model, adapters }), [runs, vectors, studyIds, model, adapters]);
}
