// The datasets of the paper's model organisms, fetched from the clarifying-EM repository at a pinned commit
// (raw.githubusercontent.com serves them with CORS, so the browser can read them directly).

export const UPSTREAM_DATASET_BASE =
  'https://raw.githubusercontent.com/clarifying-EM/model-organisms-for-EM/407fbad1bdf9463b43ab87c7821e90d36dada5ef/em_organism_dir/data/training_datasets';

export type DatasetPresetId =
  | 'bad_medical_advice'
  | 'good_medical_advice'
  | 'risky_financial_advice'
  | 'extreme_sports'
  | 'bad_legal_advice'
  | 'non_med_aligned';

export interface DatasetPreset {
  id: DatasetPresetId;
  label: string;
  /** file name under the base URL */
  file: string;
  /** rows in the published file (wc -l of the copies in ../shared/datasets), shown before download */
  rows: number;
  /** 'train': a steering/fine-tuning domain; 'kl': used for the KL (narrow) regulariser set */
  use: ('train' | 'kl')[];
}

export const DATASET_PRESETS: Record<DatasetPresetId, DatasetPreset> = {
  bad_medical_advice: { id: 'bad_medical_advice', label: 'Bad medical advice', file: 'bad_medical_advice.jsonl.gz', rows: 7049, use: ['train'] },
  good_medical_advice: { id: 'good_medical_advice', label: 'Good medical advice', file: 'good_medical_advice.jsonl.gz', rows: 7049, use: ['train'] },
  risky_financial_advice: { id: 'risky_financial_advice', label: 'Risky financial advice', file: 'risky_financial_advice.jsonl.gz', rows: 6000, use: ['train', 'kl'] },
  extreme_sports: { id: 'extreme_sports', label: 'Extreme sports', file: 'extreme_sports.jsonl.gz', rows: 6000, use: ['train', 'kl'] },
  // The KL set of the paper is not public; SCIENCE.md substitutes these two plus the two above. They follow the
  // same path pattern, but if the upstream repository moves them, datasetUrl's baseUrl (set by the user) points
  // wherever they are served from.
  bad_legal_advice: { id: 'bad_legal_advice', label: 'Bad legal advice', file: 'bad_legal_advice.jsonl.gz', rows: 6000, use: ['kl'] },
  non_med_aligned: { id: 'non_med_aligned', label: 'Non-medical, aligned', file: 'non_med_aligned.jsonl.gz', rows: 1767, use: ['kl'] },
};

/** The default KL (narrow-regulariser) set of SCIENCE.md: other domains, good and bad advice mixed. */
export const DEFAULT_KL_PRESETS: DatasetPresetId[] = ['risky_financial_advice', 'extreme_sports', 'bad_legal_advice', 'non_med_aligned'];

export function isDatasetPresetId(s: string): s is DatasetPresetId {
  return Object.prototype.hasOwnProperty.call(DATASET_PRESETS, s);
}

/** URL of a preset's file; baseUrl (no trailing slash needed) replaces the upstream location, e.g. a local server. */
export function datasetUrl(preset: DatasetPresetId | DatasetPreset, baseUrl: string = UPSTREAM_DATASET_BASE): string {
  const p = typeof preset === 'string' ? DATASET_PRESETS[preset] : preset;
  if (!p) throw new Error(`unknown dataset preset ${JSON.stringify(preset)} (known: ${Object.keys(DATASET_PRESETS).join(', ')})`);
  return `${baseUrl.replace(/\/+$/, '')}/${p.file}`;
}
