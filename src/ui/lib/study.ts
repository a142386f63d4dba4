// The vectors an analysis compares: the runs' current vectors (general, narrow, remove-KL) for the loaded
// model, plus library vectors the user ticked. Each comes as its effective vector α·v with a stable name and
// colour, so every chart uses the same legend.

import { effectiveVector } from '../../lab/vectors/vector';
import { useMemo } from 'react';
import { useLab, type LabState } from '../store/store';
import type { RunSlot } from '../store/types';

export interface StudyVector {
  key: string;
  label: string;
  layer: number;
  effective: Float32Array;
  norm: number;
  color: string;
  /** fingerprint of the effective vector: a result made from it is stale once this changes */
  print: string;
}

export const RUN_SHORT: Record<RunSlot, string> = { general: 'general', narrow: 'narrow', removeKl: 'narrow → remove KL' };
export const RUN_COLORS: Record<RunSlot, string> = { general: '#d9480f', narrow: '#1971c2', removeKl: '#7048e8' };
const OTHER_COLORS = ['#2b8a3e', '#c2255c', '#e67700', '#0c8599', '#5f3dc4', '#495057'];
export const RANDOM_COLOR = '#868e96';

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

/** A library vector's colour follows its id, so it keeps its colour in every chart whatever else is ticked. */
export function libraryColor(id: string): string {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (Math.imul(h, 31) + id.charCodeAt(i)) >>> 0;
  return OTHER_COLORS[h % OTHER_COLORS.length]!;
}

function norm(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

export function studyVectors(s: Pick<LabState, 'runs' | 'vectors' | 'studyIds' | 'model'>): StudyVector[] {
  const d = s.model.info?.dModel;
  if (!d) return [];
  const out: StudyVector[] = [];
  for (const slot of ['general', 'narrow', 'removeKl'] as RunSlot[]) {
    const r = s.runs[slot];
    const v = r?.state?.v;
    if (!r || !v || v.length !== d || r.modelRepo !== s.model.info?.repo) continue;
    const eff = Float32Array.from(v, (x) => x * r.settings.alpha);
    out.push({ key: slot, label: RUN_SHORT[slot], layer: r.settings.layer, effective: eff, norm: norm(eff), color: RUN_COLORS[slot], print: fingerprint(eff) });
  }
  for (const id of s.studyIds) {
    const v = s.vectors.find((x) => x.id === id);
    if (!v || v.data.length !== d) continue;
    const eff = effectiveVector(v);
    out.push({ key: v.id, label: v.name, layer: v.layer, effective: eff, norm: v.norm, color: libraryColor(v.id), print: fingerprint(eff) });
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

/** Vectors grouped by steering layer: each analysis job runs at one layer. */
export function byLayer(list: StudyVector[]): Map<number, StudyVector[]> {
  const m = new Map<number, StudyVector[]>();
  for (const v of list) m.set(v.layer, [...(m.get(v.layer) ?? []), v]);
  return m;
}

/** studyVectors for components, recomputed only when its inputs change. */
export function useStudy(): StudyVector[] {
  const runs = useLab((s) => s.runs);
  const vectors = useLab((s) => s.vectors);
  const studyIds = useLab((s) => s.studyIds);
  const model = useLab((s) => s.model);
  return useMemo(() => studyVectors({ runs, vectors, studyIds, model }), [runs, vectors, studyIds, model]);
}
