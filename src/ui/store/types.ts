// Shapes the UI keeps: stored vectors, training runs, running jobs, analysis results.

import type { SteeringVector } from '../../lab/vectors/vector';
import type { AdapterRecord } from '../../lab/adapters/record';
import type { EfficiencyPoint, KlPoint, StabilityPoint } from '../../lab/sweeps/sweeps';
import type { DataSummary, DeviceInfo, ModelInfo, StepRecord, TrainProgress, TrainSettings, TrainState } from '../../worker/protocol';

export interface StoredVector extends SteeringVector {
  id: string;
  /** ‖α·v‖, kept so lists need not recompute it */
  norm: number;
  /** one line on how it was made ("trained: bad medical advice, λ = 0, 120 steps") */
  how: string;
}

/** A LoRA adapter in the library: a finished LoRA run, an imported PEFT pair or an adapter share link. */
export interface StoredAdapter extends AdapterRecord {
  id: string;
  /** ‖θ‖ (every factor) */
  norm: number;
  how: string;
}

/** The three runs the paper's figures need; each slot holds its latest run. */
export type RunSlot = 'general' | 'narrow' | 'removeKl';

export const RUN_LABELS: Record<RunSlot, string> = {
  general: 'General (λ = 0)',
  narrow: 'Narrow (KL-regularised)',
  removeKl: 'Narrow → remove KL',
};

/** The runs' names in sentences, titles and vector names. */
export const RUN_NAMES: Record<RunSlot, string> = { general: 'General', narrow: 'Narrow', removeKl: 'Narrow → remove KL' };

/**
 * Exactly what a data slot was read from: sources, row limit, length cap, labels, split and seed. A run keeps
 * the spec of the data it trained on, so that resuming uses that data and nothing else. Uploaded files are
 * kept by name, size and a checksum (their bytes are not stored).
 */
export interface DataSpec {
  sources: ({ kind: 'preset'; preset: string } | { kind: 'url'; url: string } | { kind: 'file'; name: string; size: number; checksum: string })[];
  limit: number | null;
  maxLen: number;
  labels: string;
  heldOutFraction: number;
  seed: number;
}

export type RunStatus = 'queued' | 'running' | 'done' | 'cancelled' | 'interrupted' | 'error';

export interface RunRecord {
  id: RunSlot;
  modelRepo: string;
  dModel: number;
  dataLabel: string;
  klLabel?: string;
  /** the data it trains on (absent in runs saved before the lab recorded it) */
  data?: DataSpec;
  kl?: DataSpec;
  settings: TrainSettings;
  initFrom?: RunSlot;
  status: RunStatus;
  /** the last saved resumable state (at each checkpoint and at the end) */
  state?: TrainState;
  /** live step records (ahead of state between checkpoints) */
  history: StepRecord[];
  totalSteps?: number;
  last?: TrainProgress;
  error?: string;
  startedAt: string;
  updatedAt: string;
  vectorId?: string;
  /** KL on the first KL rows at each checkpoint (every run, λ = 0 included), measured the same way for all */
  klEval?: { step: number; kl: number }[];
}

export interface JobView {
  label: string;
  /** 0..1, or null when unknown */
  fraction: number | null;
  detail: string;
  startedAt: number;
  cancel?: () => void;
}

export interface Notice {
  id: number;
  kind: 'error' | 'info' | 'success';
  text: string;
  where?: string;
  action?: { label: string; run: () => void };
  /** the notice goes away by itself once this holds (its cause is gone: the model loaded, the data arrived) */
  until?: (s: never) => boolean;
}

export interface ModelState {
  status: 'idle' | 'loading' | 'ready' | 'error';
  repo: string;
  info?: ModelInfo;
  error?: string;
  gated?: boolean;
  /** per file: bytes loaded / total */
  files: Record<string, { loaded: number; total?: number }>;
  expectedBytes?: number;
  startedAt?: number;
}

export interface DataSlotState {
  status: 'idle' | 'loading' | 'ready' | 'error';
  summary?: DataSummary;
  label?: string;
  spec?: DataSpec;
  error?: string;
}

/** What a result was made from; compared with the page's state to mark it stale. */
export interface ResultBasis {
  model: string;
  /** the training data's label (the loss sweeps evaluate its rows) */
  data?: string;
  /** per vector key: its label and a fingerprint of α·v */
  vectors: Record<string, { label: string; print: string }>;
  /** the settings the result was made with, as shown next to it */
  settings: Record<string, number | string>;
}

export type SweepStatus = 'running' | 'done' | 'cancelled' | 'interrupted' | 'failed';

/** A sweep's progress and provenance, saved with its points so that a partial sweep can be found and resumed. */
export interface SweepMeta {
  status: SweepStatus;
  done: number;
  total: number;
  basis: ResultBasis;
  updatedAt: string;
  error?: string;
}

export interface EfficiencyState {
  meta?: SweepMeta;
  rows: number;
  curves: Record<string, { byScale: EfficiencyPoint[]; byNorm: EfficiencyPoint[] }>;
  /** points evaluated on demand at the slider's norm */
  probes: Record<string, EfficiencyPoint[]>;
}

export interface StabilityState {
  meta?: SweepMeta;
  rows: number;
  seeds: number;
  curves: Record<string, { lossTrained: number; lossChat: number; points: StabilityPoint[] }>;
  probes: Record<string, StabilityPoint[]>;
}

export interface PretrainState {
  docs?: { count: number; fromCache: boolean; preview: string[]; meanChars: number };
  /** the norm grid and random seeds of the last sweep (a resume evaluates the missing points of these) */
  grid?: { norms: number[]; randomSeeds: number[]; maxTokens: number };
  meta?: SweepMeta;
  curves: Record<string, KlPoint[]>;
}

export interface PcaState {
  basis?: ResultBasis;
  explainedVarianceRatio: number[];
  projections: { name: string; coords: number[][] }[];
}

export type { DeviceInfo, ModelInfo, DataSummary, TrainSettings };
