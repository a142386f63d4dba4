// The analyses' results kept in IndexedDB: efficiency, stability, FineWeb-KL and PCA results (partial sweeps
// included, with how far they got), chat answers, EM generations and judge scores. Each is saved as it grows
// and restored when the page opens; each carries the basis it was made from (model, data, vectors, settings),
// and staleness() says, in words, what has changed since.

import type { StudyVector } from '../lib/study';
import { listResults, putResult } from '../storage/idb';
import { useChat, type ChatState } from '../store/chat';
import { useLab, type LabState } from '../store/store';
import type { ResultBasis, SweepMeta } from '../store/types';
import { keep } from './persist';

export type ResultKey = 'efficiency' | 'stability' | 'pretrain' | 'pca' | 'chat';

const NAMES: Record<ResultKey, string> = {
  efficiency: 'the efficiency sweep',
  stability: 'the stability sweep',
  pretrain: 'the FineWeb KL sweep',
  pca: 'the PCA of the trajectories',
  chat: 'the chat answers and EM evaluation',
};

function snapshot(key: ResultKey): unknown {
  const s = useLab.getState();
  if (key === 'chat') {
    const c = useChat.getState();
    const keepChat: Partial<ChatState> & { basis?: ResultBasis } = { answers: c.answers, asked: c.asked, em: c.em, basis: c.basis };
    return keepChat;
  }
  if (key === 'pretrain') {
    // the documents themselves are in the FineWeb cache; only what the panel shows is kept here
    return { ...s.pretrain };
  }
  return s[key];
}

const timers = new Map<ResultKey, ReturnType<typeof setTimeout>>();

/**
 * Saves a result now (at the end of a job) or soon (while points stream in): at most one write every 300 ms,
 * each with the state as it is then, so a steady stream of points is saved as it goes.
 */
export function saveResult(key: ResultKey, soon = false): Promise<boolean> | void {
  const write = () => keep(NAMES[key], `steerlab-${key}.json`, () => putResult(key, snapshot(key)), () => snapshot(key));
  if (soon) {
    if (!timers.has(key))
      timers.set(
        key,
        setTimeout(() => {
          timers.delete(key);
          void write();
        }, 300),
      );
    return;
  }
  clearTimeout(timers.get(key));
  timers.delete(key);
  return write();
}

const stopped = (m: SweepMeta | undefined): SweepMeta | undefined => (m && m.status === 'running' ? { ...m, status: 'interrupted' } : m);

/** Puts the saved results back into the store; a sweep that was running when the page closed is "interrupted". */
export async function restoreResults(): Promise<void> {
  const saved = (await listResults()) as Partial<Record<ResultKey, any>>;
  const patch: Partial<LabState> = {};
  const s = useLab.getState();
  if (saved.efficiency) patch.efficiency = { ...s.efficiency, ...saved.efficiency, meta: stopped(saved.efficiency.meta) };
  if (saved.stability) patch.stability = { ...s.stability, ...saved.stability, meta: stopped(saved.stability.meta) };
  if (saved.pretrain) patch.pretrain = { ...s.pretrain, ...saved.pretrain, meta: stopped(saved.pretrain.meta) };
  if (saved.pca) patch.pca = saved.pca;
  useLab.setState(patch);
  if (saved.chat) useChat.setState({ answers: saved.chat.answers ?? { unsteered: [], steered: [] }, asked: saved.chat.asked, em: saved.chat.em ?? [], basis: saved.chat.basis });
}

/** The basis of a result made now from these vectors and settings. */
export function basisNow(vectors: StudyVector[], settings: Record<string, number | string>, withData = true): ResultBasis {
  const s = useLab.getState();
  return {
    model: s.model.info?.repo ?? '',
    data: withData ? s.data.train.label : undefined,
    vectors: Object.fromEntries(vectors.map((v) => [v.key, { label: v.label, print: v.print }])),
    settings,
  };
}

/**
 * What changed since the result was made, one sentence each; empty when it still describes what the page
 * holds. Vectors added to the study since are not a change: the result simply does not include them.
 */
export function staleness(basis: ResultBasis | undefined, s: Pick<LabState, 'model' | 'data'>, study: StudyVector[]): string[] {
  if (!basis) return [];
  const out: string[] = [];
  const repo = s.model.info?.repo;
  if (!repo) out.push(`it was made with ${basis.model}, which is not loaded`);
  else if (repo !== basis.model) out.push(`it was made with ${basis.model}, and ${repo} is loaded now`);
  if (basis.data && repo === basis.model && s.data.train.label !== basis.data) out.push(`it was measured on “${basis.data}”, and the training data loaded now is ${s.data.train.label ? `“${s.data.train.label}”` : 'none'}`);
  if (repo === basis.model) {
    for (const [key, v] of Object.entries(basis.vectors)) {
      const now = study.find((x) => x.key === key);
      if (!now) out.push(`${v.label} is no longer under study`);
      else if (now.print !== v.print) out.push(`${v.label} has changed since (retrained or replaced)`);
    }
  }
  return out;
}
