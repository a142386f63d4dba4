// The app's state in one zustand store. Panels read slices with useLab(selector); actions (src/ui/actions)
// write through useLab.setState. Long-lived things (vectors, runs) are mirrored to IndexedDB by the actions.

import type { AdapterPresetId } from '../../lab/adapters/presets';
import { create } from 'zustand';
import type { DatasetPresetId, LabelMode } from '../../lab/data';
import { DEFAULT_KL_PRESETS } from '../../lab/data/presets';
import { PAPER_SWEEPS } from '../../lab/sweeps/grids';
import { DEFAULT_TRAIN } from '../../lab/train/defaults';
import type { Sources } from '../config';
import { loadSetting } from '../storage/local';
import type {
  DataSlotState,
  DeviceInfo,
  EfficiencyState,
  JobView,
  ModelState,
  Notice,
  PcaState,
  PretrainState,
  RunRecord,
  StoredAdapter,
  RunSlot,
  StabilityState,
  StoredVector,
  TrainSettings,
} from './types';

export type PanelId = 'model' | 'data' | 'train' | 'efficiency' | 'stability' | 'pretrain' | 'trajectory' | 'chat' | 'library' | 'guide';

export interface DataForm {
  trainPresets: DatasetPresetId[];
  trainUrl: string;
  klPresets: DatasetPresetId[];
  limit: number | null;
  klLimit: number | null;
  maxLen: number;
  labels: LabelMode;
  heldOutFraction: number;
}

export interface TrainForm extends Omit<TrainSettings, 'lambdaKl' | 'layer'> {
  layer: number | null;
  /** λ of the narrow run, per token */
  narrowLambda: number;
  /** train by epochs (paper) or a fixed number of steps (quick looks) */
  budget: 'epochs' | 'steps';
  /** train a LoRA adapter of this preset instead of a steering vector */
  adapterPreset?: AdapterPresetId;
}

export interface LabState {
  panel: PanelId;
  sources: Sources;
  device?: DeviceInfo;
  deviceError?: string;
  deviceLost?: string;
  /** whether the browser granted persistent storage (asked once at startup; undefined until it answers) */
  storagePersisted?: boolean;
  model: ModelState;
  data: { train: DataSlotState; kl: DataSlotState };
  dataForm: DataForm;
  trainForm: TrainForm;
  runs: Partial<Record<RunSlot, RunRecord>>;
  vectors: StoredVector[];
  jobs: Record<string, JobView>;
  notices: Notice[];
  efficiency: EfficiencyState;
  stability: StabilityState;
  pretrain: PretrainState;
  pca?: PcaState;
  /** vector ids picked for the analyses besides the runs */
  studyIds: string[];
  /** the adapter library (LoRA runs, imported PEFT files and adapter links) */
  adapters: StoredAdapter[];
}

export const DEFAULT_DATA_FORM: DataForm = {
  trainPresets: ['bad_medical_advice'],
  trainUrl: '',
  klPresets: DEFAULT_KL_PRESETS,
  limit: null,
  klLimit: 500,
  maxLen: 256,
  labels: 'assistant',
  heldOutFraction: 0.1,
};

export const DEFAULT_TRAIN_FORM: TrainForm = {
  layer: null,
  // SCIENCE.md, from the trainer's engine-free defaults module
  alpha: DEFAULT_TRAIN.alpha,
  lr: DEFAULT_TRAIN.optim.lr,
  microBatch: DEFAULT_TRAIN.microBatch,
  accumulation: DEFAULT_TRAIN.accumulation,
  epochs: DEFAULT_TRAIN.epochs!,
  steps: 20,
  budget: 'epochs',
  warmup: DEFAULT_TRAIN.warmup,
  klBatch: DEFAULT_TRAIN.klBatch,
  checkpointEvery: DEFAULT_TRAIN.checkpointEvery,
  seed: DEFAULT_TRAIN.seed,
  // SCIENCE.md: the paper's λ = 1e6 on a vocabulary-averaged KL is ≈ 6.6 per token for Qwen's 152k vocabulary
  narrowLambda: 6.6,
};

export const useLab = create<LabState>()(() => ({
  panel: 'model',
  sources: { hubUrl: '', datasetsBase: '', questionsUrl: '', fineweb: 'hub' },
  model: { status: 'idle', repo: '', files: {} },
  data: { train: { status: 'idle' }, kl: { status: 'idle' } },
  dataForm: { ...DEFAULT_DATA_FORM, ...loadSetting<Partial<DataForm>>('dataForm', {}) },
  trainForm: { ...DEFAULT_TRAIN_FORM, ...loadSetting<Partial<TrainForm>>('trainForm', {}) },
  runs: {},
  vectors: [],
  jobs: {},
  notices: [],
  efficiency: { rows: PAPER_SWEEPS.efficiencyRows, curves: {}, probes: {} },
  stability: { rows: PAPER_SWEEPS.stabilityRows, seeds: PAPER_SWEEPS.stabilitySeeds, curves: {}, probes: {} },
  pretrain: { curves: {} },
  studyIds: [],
  adapters: [],
}));

let noticeId = 1;

export function notify(kind: Notice['kind'], text: string, extra: Partial<Pick<Notice, 'where' | 'action'>> & { until?: (s: LabState) => boolean } = {}): number {
  const id = noticeId++;
  if (extra.until?.(useLab.getState())) return id;
  useLab.setState((s) => ({ notices: [...s.notices.filter((n) => n.text !== text), { id, kind, text, ...extra } as Notice] }));
  // confirmations fade; errors and offers (a button to press) stay until dismissed
  if (kind !== 'error' && !extra.action) setTimeout(() => dismiss(id), 12_000);
  return id;
}

// notices whose cause is gone leave by themselves
useLab.subscribe((s) => {
  const gone = s.notices.filter((n) => (n.until as ((s: LabState) => boolean) | undefined)?.(s));
  if (gone.length) useLab.setState({ notices: s.notices.filter((n) => !gone.includes(n)) });
});

export function dismiss(id: number): void {
  useLab.setState((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
}

export function setPanel(panel: PanelId): void {
  useLab.setState({ panel });
}
