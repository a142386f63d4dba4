// Where the lab fetches from. Defaults are the public hosts; a query string overrides them for a local mirror
// (the e2e tests point them at the fixture server; a workshop can serve its own copies):
//   ?hub=http://host:port            Hub-compatible file server (…/<repo>/resolve/<rev>/<file>)
//   &datasets=http://host/path       folder holding the dataset presets' .jsonl.gz files
//   &questions=http://…/first_plot_questions.yaml
//   &fineweb=hub | hub:<rows API base> | <…parquet URL>
//   &backend=wasm                    skip WebGPU
//   &model=<hub id>                  prefill the model box
// Values typed into the Model panel's "Sources" box are kept in this browser and used when no query is given.

import { UPSTREAM_DATASET_BASE } from '../lab/data/presets';
import { HUB_URL } from '../models/file_source';
import { loadSetting } from './storage/local';

export const UPSTREAM_QUESTIONS_URL = UPSTREAM_DATASET_BASE.replace(/training_datasets$/, 'eval_questions') + '/first_plot_questions.yaml';

export interface Sources {
  hubUrl: string;
  datasetsBase: string;
  questionsUrl: string;
  fineweb: string;
}

export interface StartupOptions {
  sources: Sources;
  /** true when the query string set the sources (then they are not read from or written to storage) */
  fromQuery: boolean;
  prefer?: 'wasm' | 'webgpu';
  model?: string;
}

export function defaultSources(): Sources {
  return { hubUrl: HUB_URL, datasetsBase: UPSTREAM_DATASET_BASE, questionsUrl: UPSTREAM_QUESTIONS_URL, fineweb: 'hub' };
}

/** questions next to the datasets, unless the datasets come from upstream (which keeps them elsewhere) */
export function questionsUrlFor(datasetsBase: string): string {
  return datasetsBase === UPSTREAM_DATASET_BASE ? UPSTREAM_QUESTIONS_URL : `${datasetsBase.replace(/\/+$/, '')}/first_plot_questions.yaml`;
}

export function readStartup(search: string = location.search): StartupOptions {
  const q = new URLSearchParams(search);
  const stored = loadSetting<Partial<Sources>>('sources', {});
  const base = { ...defaultSources(), ...stored };
  const fromQuery = ['hub', 'datasets', 'questions', 'fineweb'].some((k) => q.has(k));
  const datasetsBase = q.get('datasets') ?? base.datasetsBase;
  const sources: Sources = {
    hubUrl: q.get('hub') ?? base.hubUrl,
    datasetsBase,
    questionsUrl: q.get('questions') ?? (q.has('datasets') ? questionsUrlFor(datasetsBase) : base.questionsUrl),
    fineweb: q.get('fineweb') ?? base.fineweb,
  };
  const b = q.get('backend');
  return { sources, fromQuery, prefer: b === 'wasm' || b === 'webgpu' ? b : undefined, model: q.get('model') ?? undefined };
}
