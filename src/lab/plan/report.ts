// The report a study writes (npm run lab, the app's export): what each section of the plan measured. Types only,
// so the page can read and write reports without importing the runner (and the engine behind it).

import type { Plan } from './schema';

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

/**
 * What the report's numbers are, written into every report (the CLI's and the app's) so that a reader need not
 * guess: fractions are fractions in [0, 1] (PCA explained variance: 0.79, not 79), the one percentage is named as
 * such (stability), and norms are of the effective vector α·v.
 */
export const REPORT_UNITS = {
  fractions: 'every share or ratio in this report is a fraction in [0, 1], not a percentage (0.79 means 79 %); the only percentages are stability.*.mean and .sd, named as such below',
  'pca.explained_variance_ratio': "fraction of the checkpoints' total variance each principal component holds, in [0, 1], summing to at most 1",
  'pca.explained_variance': "the variance along each component of the standardised checkpoints (sklearn's explained_variance_), not a fraction",
  'stability.mean, stability.sd': 'PERCENT, over noise seeds: 100 × (L(x′) − L(x)) / (L(chat) − L(x)); 0 = the trained vector, 100 = the unsteered model; meaningful only when loss_trained < loss_chat (stability_reference)',
  'stability.eps': 'noise mix ε in [0, 1]: x′ = √(1−ε²)·x + ε·y, y orthogonal noise of the same norm',
  'norm, final_norm, checkpoint_norms': '‖α·v‖, the norm of the effective (added) vector',
  'loss, ce, heldout_ce, loss_trained, loss_chat': 'mean cross-entropy per label token, in nats',
  'kl, kl_eval, fineweb.*.kl': 'mean per-token KL(p_chat ‖ p_steered) in nats; ≥ 0 (a value a hair below 0 is float rounding: read it as 0)',
  'loss_curve.step': 'step k = the k-th AdamW update; loss, KL and norm are measured together at the vector it starts from',
  seconds: 'wall-clock seconds',
} as const;

export interface Report {
  plan: Plan;
  versions: Record<string, string>;
  /** what each number is measured in (REPORT_UNITS): fractions in [0, 1], the stability percentage named */
  units?: Record<string, string>;
  /** `hook`: where the vectors are added, e.g. "blocks.12.hook_resid_post" (src/models/hooks.ts) */
  /** revision: the commit the model's files came from (absent for a local folder) */
  model: { id: string; revision?: string; format: string; layers: number; d_model: number; arch: string; hook?: string };
  runs: Record<string, RunReport>;
  /** adapter runs' points also carry delta_w_norm (‖ΔW‖_F, quadratic in the scale) */
  efficiency?: Record<string, { scale?: number; norm: number; loss: number; loss_per_norm_sq?: number; delta_w_norm?: number }[]>;
  stability?: Record<string, { eps: number; mean: number; sd: number }[]>;
  stability_reference?: Record<string, { loss_trained: number; loss_chat: number }>;
  fineweb?: Record<string, { norm: number; kl: number }[]>;
  /** explained_variance_ratio: fractions in [0, 1]; explained_variance absent where only the ratios were kept (the app) */
  pca?: { explained_variance?: number[]; explained_variance_ratio: number[]; coords: Record<string, number[][]> };
  generate?: Record<string, { id?: string; question: string; samples: string[] }[]>;
  /** the held-out rows the runs' heldout_ce is measured on, and their loss without steering */
  heldout?: { rows: number; ce_unsteered: number };
  seconds: number;
}
