// Before any weight is downloaded: list the repository (sizes of every file, external chunks included), read its
// config.json (a few hundred bytes: the embedding's size), and pick the ONNX file for this device — or refuse with
// the numbers when nothing fits. Offline (listing unreachable) it steps aside and the loader's own order applies,
// so a model cached in this browser still loads.

import { chooseOnnxFile, type DeviceLimits, type FileChoice } from './file_choice';
import { listHubFiles } from './file_listing';
import { hubSource, SourceError, type HubOptions } from './file_source';

export interface Preflight {
  /** the ONNX file to load; undefined = let the loader choose (safetensors repo, or listing unavailable) */
  file?: string;
  choice?: FileChoice;
}

export async function preflightHub(repo: string, hub: HubOptions, device: DeviceLimits, requested?: string): Promise<Preflight> {
  let listing;
  try {
    listing = await listHubFiles(repo, hub);
  } catch (e) {
    if (e instanceof SourceError && e.kind !== 'access') return { file: requested };
    throw e;
  }
  const paths = new Set(listing.map((f) => f.path));
  if (!requested && (paths.has('model.safetensors') || paths.has('model.safetensors.index.json'))) return {};
  let dims;
  try {
    const cfg = JSON.parse(new TextDecoder().decode(await hubSource(repo, hub).get('config.json')));
    if (Number.isInteger(cfg?.vocab_size) && Number.isInteger(cfg?.hidden_size)) dims = { vocabSize: cfg.vocab_size, hiddenSize: cfg.hidden_size };
    else if (Number.isInteger(cfg?.text_config?.vocab_size)) dims = { vocabSize: cfg.text_config.vocab_size, hiddenSize: cfg.text_config.hidden_size };
  } catch {
    // the loader reports a missing or broken config.json itself
  }
  const choice = chooseOnnxFile(listing, device, dims);
  if (requested) {
    const opt = choice.options.find((o) => o.file === requested);
    if (opt?.refusal) throw new Error(`${repo}: ${opt.refusal}`);
    return { file: requested, choice };
  }
  if (choice.choice) return { file: choice.choice.file, choice };
  if (choice.options.length) throw new Error(`${repo}: ${choice.reason}`);
  return { choice };
}
