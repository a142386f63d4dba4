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

export type RunStatus = 'queued' | 'running' | 'done' | 'cancelled' | 'interrupted' | 'error';

export interface RunRecord {
  id: RunSlot;
  modelRepo: string;
  dModel: number;
  dataLabel: string;
  klLabel?: string;
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
  error?: string;
}

export interface EfficiencyState {
  rows: number;
  curves: Record<string, { byScale: EfficiencyPoint[]; byNorm: EfficiencyPoint[] }>;
  /** points evaluated on demand at the slider's norm */
  probes: Record<string, EfficiencyPoint[]>;
}

export interface StabilityState {
  rows: number;
  seeds: number;
  curves: Record<string, { lossTrained: number; lossChat: number; points: StabilityPoint[] }>;
  probes: Record<string, StabilityPoint[]>;
}

export interface PretrainState {
  docs?: { count: number; fromCache: boolean; preview: string[]; meanChars: number };
  curves: Record<string, KlPoint[]>;
}

export interface PcaState {
  explainedVarianceRatio: number[];
  projections: { name: string; coords: number[][] }[];
}

export type { DeviceInfo, ModelInfo, DataSummary, TrainSettings };
