// The messages between the UI and the lab worker. Every job is one request with an id; the worker answers with
// any number of progress messages and then exactly one result or error. The UI may cancel a job by id. Events
// (a lost GPU device) arrive unasked. Everything here is structured-clone data: typed arrays travel as they
// are, errors as {message, where}.

import type { HookPoint } from '../models/hooks';
import type { DatasetPresetId, LabelMode } from '../lab/data';
import type { EfficiencyPoint, KlPoint, StabilityPoint } from '../lab/sweeps/sweeps';
import type { StepRecord, TrainProgress, TrainState } from '../lab/train/trainer';
import type { AdapterShape } from '../lab/adapters/lora';

// ---- shared shapes ---------------------------------------------------------------------------------------

export interface WireError {
  message: string;
  /** which job and phase failed, e.g. "loadModel: tokenizer" */
  where: string;
  /** 'AbortError' for a cancelled job */
  name?: string;
}

export interface DeviceInfo {
  kind: 'webgpu' | 'wasm';
  /** why wasm, when WebGPU was wanted */
  reason?: string;
  adapter?: { vendor?: string; architecture?: string; description?: string; features: string[] };
  shaderF16: boolean;
  /** the adapter's buffer limits (WebGPU), for refusing a model too big before download */
  limits?: { maxBufferSize: number; maxStorageBufferBindingSize: number };
  ortVersion: string;
  crossOriginIsolated: boolean;
  threads: number;
}

export interface ModelInfo {
  repo: string;
  /** the commit the files came from (revision `main` pinned through the Hub API), or the revision as given */
  revision: string;
  /** false when the host could not name a commit (a mirror without the API): `revision` is then a branch name */
  pinned: boolean;
  /** what was read: 'safetensors', 'onnx (onnx/model_q4.onnx)', … */
  format: string;
  arch: string;
  modelType: string;
  layers: number;
  dModel: number;
  vocabSize: number;
  heads: number;
  kvHeads: number;
  /** the dtype the checkpoint was published in, and how the weights are held (q4 / float32) */
  checkpointDtype: string;
  weightsDtype: string;
  /** bytes of weights held in memory (GPU or wasm) */
  weightBytes: number;
  /** bytes fetched (network or cache) */
  bytesRead: number;
  /** for an ONNX export: the file read and the loader's verdict on it (what `npm run inspect` prints) */
  onnx?: { file: string; layout: string; dtype: string; bytes: number; external_chunks: number; ok: boolean; reason: string | null };
  /** true when every file came from this browser's cache */
  fromCache: boolean;
  defaultLayer: number;
  /** the hook points that differ for this architecture (models/hooks.ts): resid_post, plus down_proj on Gemma 2/3 */
  hookPoints: HookPoint[];
  chatTemplate: boolean;
  seconds: number;
}

export type DataSource =
  | { kind: 'preset'; preset: DatasetPresetId }
  | { kind: 'url'; url: string }
  | { kind: 'file'; name: string; bytes: Uint8Array };

export interface DataOptions {
  /** use only the first N good rows of each source (quick experiments) */
  limit?: number;
  maxLen: number;
  labels: LabelMode;
  heldOutFraction: number;
  seed: number;
}

export interface PreviewRow {
  line: number;
  user: string;
  assistant: string;
}

export interface SourceReport {
  name: string;
  goodRows: number;
  lines: number;
  /** first bad rows (line + reason) and the total count */
  bad: { line: number; reason: string }[];
  badCount: number;
  truncated: number;
  skippedNoLabels: number[];
  prefixFallbacks: number;
  train: number;
  heldOut: number;
}

export interface DataSummary {
  slot: 'train' | 'kl';
  sources: SourceReport[];
  train: number;
  heldOut: number;
  meanTokens: number;
  maxTokens: number;
  /** token lengths of the training rows: counts per bin [binStart, binStart + binWidth) */
  lengths: { binWidth: number; counts: number[] };
  preview: PreviewRow[];
}

export interface TrainSettings {
  layer: number;
  /** where in block `layer` α·v is added; absent: resid_post */
  hook?: HookPoint;
  alpha: number;
  lr: number;
  microBatch: number;
  accumulation: number;
  epochs?: number;
  steps?: number;
  warmup: number;
  lambdaKl: number;
  klBatch: number;
  checkpointEvery: number;
  seed: number;
  /** train this LoRA adapter instead of a steering vector (θ = every factor; `alpha` and `layer` then unused) */
  adapter?: AdapterShape;
}

/** An adapter to evaluate beside the vectors: its shape and θ (src/lab/adapters/lora.ts layout). */
export interface AdapterInput {
  shape: AdapterShape;
  data: Float32Array;
  /** the model it was trained on; when given, jobs refuse it for another model (as they refuse vectors) */
  modelId?: string;
}

export interface Judging {
  baseUrl: string;
  model: string;
  apiKey?: string;
}

// ---- the jobs: request, progress and result of each -------------------------------------------------------

export interface Jobs {
  /** pick the execution provider (WebGPU or wasm) and report it */
  init: {
    req: { prefer?: 'webgpu' | 'wasm'; /** URL prefix of ORT's runtime files, instead of the copies this build serves */ wasmPaths?: string };
    progress: never;
    result: DeviceInfo;
  };
  /** config + weights + tokenizer of a Hub repository, cached in this browser */
  loadModel: {
    req: { repo: string; hubUrl?: string; token?: string; onnxFile?: string; layerHint?: number };
    progress: { phase: 'download' | 'build'; path?: string; loaded: number; total?: number; fromCache?: boolean; message?: string };
    result: ModelInfo;
  };
  /** what the model cache holds */
  cacheList: {
    req: Record<string, never>;
    progress: never;
    result: { repos: { repo: string; files: number; bytes: number; /** a model repository (not dataset files) */ model: boolean }[] };
  };
  cacheClear: {
    req: { repo?: string };
    progress: never;
    result: { removed: number };
  };
  /** read, split and tokenise training or KL data into a slot */
  loadData: {
    req: { slot: 'train' | 'kl'; sources: DataSource[]; datasetsBase?: string; options: DataOptions };
    progress: { phase: 'read' | 'tokenize'; source: string; bytes?: number; totalBytes?: number | null; rows?: number; done?: number; total?: number };
    result: DataSummary;
  };
  /** train a steering vector on the loaded training (and KL) data */
  train: {
    /** klEval: measure KL on the first KL rows at each checkpoint (when KL data is loaded), whatever λ is */
    req: { runId: string; settings: TrainSettings; resume?: TrainState; init?: Float32Array; klEval?: boolean };
    progress: { kind: 'step'; step: TrainProgress } | { kind: 'checkpoint'; state: TrainState } | { kind: 'klEval'; step: number; kl: number };
    result: { state: TrainState; cancelled: boolean };
  };
  /** SFT loss of held rows at given effective vectors (Fig 4a curves and on-demand points) */
  efficiency: {
    req: { vectors: Record<string, Float32Array>; /** evaluated as θ; their points carry deltaW = ‖ΔW‖_F */ adapters?: Record<string, AdapterInput>; /** default: the paper's 0, 0.25, …, 2 */ scales?: number[]; norms: number[]; rows: number; layer: number; hook?: HookPoint };
    progress: { name: string; point: EfficiencyPoint & { deltaW?: number }; done: number; total: number };
    result: Record<string, { byScale: (EfficiencyPoint & { deltaW?: number })[]; byNorm: (EfficiencyPoint & { deltaW?: number })[] }>;
  };
  /** relative loss increase under orthogonal noise (Fig 4b) */
  stability: {
    req: { vectors: Record<string, Float32Array>; adapters?: Record<string, AdapterInput>; /** default: the paper's grid 0.01 … 1 */ eps?: number[]; seeds: number; rows: number; layer: number; hook?: HookPoint; seed: number };
    progress: { name: string; point: StabilityPoint; done: number; total: number };
    result: Record<string, { lossTrained: number; lossChat: number; points: StabilityPoint[] }>;
  };
  /** FineWeb documents (cached shard) */
  fineweb: {
    req: { n: number; source: string };
    progress: { got: number; wanted: number };
    result: { count: number; fromCache: boolean; preview: string[]; meanChars: number };
  };
  /** KL on the fetched FineWeb documents for each vector rescaled to each norm, plus random directions (Fig 6) */
  finewebKl: {
    req: { vectors: Record<string, Float32Array>; /** random baselines of each adapter's shape come back as random_<seed>_like_<name> */ adapters?: Record<string, AdapterInput>; norms: number[]; randomSeeds: number[]; maxTokens: number; layer: number; hook?: HookPoint };
    progress: { name: string; point: KlPoint; done: number; total: number };
    result: Record<string, KlPoint[]>;
  };
  /** PEFT files (adapter_model.safetensors, adapter_config.json) of an adapter on the loaded model */
  exportAdapter: {
    req: { adapter: AdapterInput };
    progress: never;
    result: { weights: Uint8Array; config: string };
  };
  /** an adapter from PEFT files, checked against the loaded model's layer shapes */
  importAdapter: {
    req: { weights: Uint8Array; config: string };
    progress: never;
    result: { adapter: AdapterInput };
  };
  /** PCA of checkpoint trajectories (Fig 5) */
  pca: {
    req: { runs: { name: string; checkpoints: Float32Array[] }[]; k: number };
    progress: never;
    result: { explainedVarianceRatio: number[]; projections: { name: string; coords: number[][] }[] };
  };
  /** one chat answer, streamed */
  generate: {
    req: {
      messages: { role: 'system' | 'user' | 'assistant'; content: string }[];
      /** modelId: the model the vector was made for; the job refuses it for another */
      vector?: { data: Float32Array; alpha: number; layer: number; hook?: HookPoint; modelId?: string };
      /** answer with this LoRA adapter instead (strength scales its update ΔW); its modelId is matched like the vector's */
      adapter?: AdapterInput;
      strength: number;
      maxNewTokens: number;
      temperature: number;
      topP: number;
      seed: number;
      samples: number;
    };
    progress: { sample: number; text: string; tokens: number };
    result: { samples: string[]; tokens: number[]; seconds: number };
  };
  /** the EM questions file (YAML text) */
  questions: {
    req: { url: string };
    progress: never;
    result: { questions: { id: string; question: string }[]; judgePrompts: { aligned: string; coherent: string } };
  };
  /** aligned/coherent scores of answers from an OpenAI-compatible judge */
  judge: {
    req: { judge: Judging; prompts: { aligned: string; coherent: string }; items: { question: string; answer: string }[] };
    progress: { done: number; total: number };
    result: { scores: { aligned: number | null; coherent: number | null }[] };
  };
}

export type JobType = keyof Jobs;
export type JobRequest<T extends JobType> = Jobs[T]['req'];
export type JobProgress<T extends JobType> = Jobs[T]['progress'];
export type JobResult<T extends JobType> = Jobs[T]['result'];

// ---- envelopes --------------------------------------------------------------------------------------------

export type ToWorker =
  | { [T in JobType]: { kind: 'request'; id: number; type: T; req: JobRequest<T> } }[JobType]
  | { kind: 'cancel'; id: number };

export type FromWorker =
  | { kind: 'progress'; id: number; progress: unknown }
  | { kind: 'result'; id: number; result: unknown }
  | { kind: 'error'; id: number; error: WireError }
  | { kind: 'event'; event: WorkerEvent };

export type WorkerEvent =
  | { type: 'device-lost'; message: string }
  /** something could not be stored in this browser (quota: the storage is full); the job itself went on */
  | { type: 'storage-error'; what: string; quota: boolean; message: string }
  | { type: 'log'; level: 'info' | 'warn'; message: string };

/** Run records kept by the UI (IndexedDB) use the trainer's step record. */
export type { StepRecord, TrainProgress, TrainState };
