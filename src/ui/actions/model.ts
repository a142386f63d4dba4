// Loading a model: a registry entry (its ONNX file, default steering layer and expected size) or any Hub id.
// Progress is per file; the panel sums it into bytes and speed. A gated repository turns on the token box.

import { loadRegistry, weightsFor } from '../../models/registry';
import { loadSetting, saveSetting } from '../storage/local';
import { notify, useLab } from '../store/store';
import { errorText, isCancelled, track } from './jobs';
import { plural } from '../lib/format';

export function registryEntry(repo: string) {
  return loadRegistry().models.find((m) => m.id === repo);
}

export function hubToken(): string {
  return loadSetting<string>('hubToken', '');
}

export function setHubToken(token: string): void {
  saveSetting('hubToken', token.trim());
}

export async function loadModel(repo: string, opts: { dtype?: string; onnxFile?: string } = {}): Promise<boolean> {
  repo = repo.trim();
  if (!/^[\w.-]+\/[\w.-]+$/.test(repo)) {
    useLab.setState((s) => ({ model: { ...s.model, status: 'error', repo, error: `"${repo}" is not a Hub repository id (expected owner/name, e.g. onnx-community/Qwen2.5-0.5B-Instruct)` } }));
    return false;
  }
  const entry = registryEntry(repo);
  const weights = entry ? weightsFor(entry, opts.dtype) : undefined;
  const startedAt = Date.now();
  // the worker keeps the loaded model until the new one is complete: so does the page if the load fails
  const previous = useLab.getState().model;
  useLab.setState({
    model: { status: 'loading', repo, files: {}, startedAt, expectedBytes: weights && entry ? weights.approxBytes + entry.tokenizerApproxBytes : undefined },
  });
  const { sources } = useLab.getState();
  try {
    const info = await track(
      'model',
      `Loading ${repo}`,
      'loadModel',
      { repo, hubUrl: sources.hubUrl, token: hubToken() || undefined, onnxFile: opts.onnxFile ?? weights?.file, layerHint: entry?.defaultSteeringLayer },
      {
        onProgress: (p) => {
          if (p.phase === 'download' && p.path) {
            useLab.setState((s) => ({ model: { ...s.model, files: { ...s.model.files, [p.path!]: { loaded: p.loaded, total: p.total } } } }));
          }
        },
        view: (p) => (p.phase === 'build' ? { fraction: null, detail: p.message ?? 'building' } : null),
        notifyErrors: false,
      },
    );
    useLab.setState((s) => ({
      model: { ...s.model, status: 'ready', info, error: undefined, gated: false },
      trainForm: { ...s.trainForm, layer: s.trainForm.layer !== null && s.trainForm.layer < info.layers ? s.trainForm.layer : info.defaultLayer },
      // token ids belong to the old tokenizer: the data must be read again
      data: { train: { status: 'idle' }, kl: { status: 'idle' } },
    }));
    saveSetting('lastModel', repo);
    notify('success', `${repo} is ready: ${plural(info.layers, 'layer')}, d_model ${info.dModel}${info.fromCache ? ' (from this browser’s cache)' : ''}`);
    return true;
  } catch (e) {
    const msg = errorText(e);
    const cancelled = isCancelled(e);
    if (previous.status === 'ready' && previous.info) {
      const error = cancelled ? undefined : `${msg}. ${previous.info.repo} is still loaded.`;
      useLab.setState({ model: { ...previous, error, gated: /gated or private/.test(msg) } });
      return false;
    }
    useLab.setState((s) => ({
      model: { ...s.model, status: cancelled ? 'idle' : 'error', error: cancelled ? undefined : msg, gated: /gated or private/.test(msg) },
    }));
    return false;
  }
}

export async function ensureModel(repo: string): Promise<boolean> {
  const m = useLab.getState().model;
  if (m.status === 'ready' && m.info?.repo === repo) return true;
  return loadModel(repo);
}
