// LoRA runs leave the page as PEFT files (adapter_model.safetensors + adapter_config.json, what PeftModel and
// llama.cpp's convert_lora_to_gguf.py read) or, for rank-1 adapters, as share links; the worker writes the files
// because it holds the model's layer shapes.

import { describeAdapter } from '../../lab/adapters/lora';
import { decodeAdapterShare, encodeAdapterShare, isAdapterShare } from '../../lab/adapters/share';
import { validateAdapterRecord, type AdapterRecord } from '../../lab/adapters/record';
import { deleteAdapter, listAdapters, putAdapter } from '../storage/adapters';
import type { StoredAdapter } from '../store/types';
import { downloadBytes, fileStem } from '../lib/download';
import { notify, useLab } from '../store/store';
import type { RunSlot } from '../store/types';
import { errorText, track } from './jobs';
import { ensureModel } from './model';

function adapterRun(slot: RunSlot) {
  const r = useLab.getState().runs[slot];
  if (!r?.settings.adapter || !r.state) throw new Error(`the ${slot} run has no trained adapter`);
  return { r, shape: r.settings.adapter, data: r.state.v };
}

export async function exportRunAdapter(slot: RunSlot): Promise<void> {
  try {
    const { r, shape, data } = adapterRun(slot);
    if (!(await ensureModel(r.modelRepo))) return;
    const f = await track(`export:${slot}`, 'Writing PEFT files', 'exportAdapter', { adapter: { shape, data, modelId: r.modelRepo } });
    const stem = fileStem(`${slot}-lora-r${shape.rank}`);
    downloadBytes(f.weights, `${stem}.adapter_model.safetensors`);
    downloadBytes(f.config, `${stem}.adapter_config.json`, 'application/json');
    notify('success', `Exported ${describeAdapter(shape, data.length)}: rename the two files to adapter_model.safetensors and adapter_config.json in one folder DIR for PeftModel.from_pretrained; for llama.cpp, python convert_lora_to_gguf.py --base BASE_MODEL_DIR DIR makes a GGUF adapter to use with llama-cli -m model.gguf --lora DIR/*.gguf.`);
  } catch (e) {
    notify('error', errorText(e), { where: 'export adapter' });
  }
}

/** A share link for a rank-1 adapter run (bigger ones are refused with their size). */
export function shareRunAdapter(slot: RunSlot): string | null {
  try {
    const { r, shape, data } = adapterRun(slot);
    return `${location.origin}${location.pathname}${encodeAdapterShare({ name: `${slot} LoRA`, modelId: r.modelRepo, adapter: { ...shape, data }, createdAt: r.updatedAt, provenance: { source: 'trained', run: slot } })}`;
  } catch (e) {
    notify('error', errorText(e), { where: 'share adapter' });
    return null;
  }
}

// ---- the adapter library ------------------------------------------------------------------------------------

const thetaNorm = (d: Float32Array) => Math.sqrt(d.reduce((s, x) => s + x * x, 0));

export async function loadAdapterLibrary(): Promise<void> {
  useLab.setState({ adapters: await listAdapters() });
}

export async function saveAdapter(rec: AdapterRecord, how: string): Promise<StoredAdapter> {
  validateAdapterRecord(rec);
  const a: StoredAdapter = { ...rec, id: crypto.randomUUID(), norm: thetaNorm(rec.adapter.data), how };
  await putAdapter(a);
  useLab.setState((s) => ({ adapters: [...s.adapters, a] }));
  return a;
}

export async function removeAdapter(id: string): Promise<void> {
  await deleteAdapter(id);
  useLab.setState((s) => ({ adapters: s.adapters.filter((x) => x.id !== id), studyIds: s.studyIds.filter((x) => x !== id) }));
}

/** adapter_model.safetensors + adapter_config.json (picked together), checked against the loaded model. */
export async function importPeftFiles(files: { name: string; arrayBuffer(): Promise<ArrayBuffer> }[]): Promise<StoredAdapter> {
  const info = useLab.getState().model.info;
  if (!info) throw new Error('load the adapter’s base model first: the files are checked against its layer shapes');
  const w = files.find((f) => f.name.endsWith('.safetensors'));
  const c = files.find((f) => f.name.endsWith('.json'));
  if (!w || !c) throw new Error(`pick both PEFT files: adapter_model.safetensors and adapter_config.json (got ${files.map((f) => f.name).join(', ') || 'nothing'})`);
  const r = await track('import-adapter', 'Reading PEFT files', 'importAdapter', { weights: new Uint8Array(await w.arrayBuffer()), config: new TextDecoder().decode(await c.arrayBuffer()) }, { notifyErrors: false });
  return saveAdapter({ name: w.name.replace(/\.safetensors$/, ''), modelId: r.adapter.modelId ?? info.repo, adapter: { ...r.adapter.shape, data: r.adapter.data }, createdAt: new Date().toISOString(), provenance: { source: 'peft', files: [w.name, c.name] } }, `imported PEFT files (${w.name})`);
}

export async function importAdapterLink(text: string): Promise<StoredAdapter> {
  return saveAdapter(decodeAdapterShare(text), 'shared link (f16)');
}

/** An adapter share link in the page's fragment (#a=…): into the library, then the fragment is removed. */
export async function importAdapterShareFromLocation(): Promise<void> {
  const hash = location.hash;
  if (!hash || !isAdapterShare(hash)) return;
  history.replaceState(null, '', `${location.pathname}${location.search}`);
  try {
    const a = await importAdapterLink(hash);
    notify('success', `Imported the adapter “${a.name}” (${a.modelId}, ${describeAdapter(a.adapter, a.adapter.data.length)}) into your library.`, { where: 'share link' });
    useLab.setState({ panel: 'library' });
  } catch (e) {
    notify('error', `This adapter link could not be opened: ${errorText(e)}. Nothing in your library was changed.`, { where: 'share link' });
  }
}

export async function exportStoredAdapter(a: StoredAdapter): Promise<void> {
  try {
    if (useLab.getState().model.info?.repo !== a.modelId && !(await ensureModel(a.modelId))) return;
    const f = await track(`export:${a.id}`, 'Writing PEFT files', 'exportAdapter', { adapter: { shape: { kind: 'lora', rank: a.adapter.rank, alpha: a.adapter.alpha, keys: a.adapter.keys }, data: a.adapter.data, modelId: a.modelId } });
    downloadBytes(f.weights, `${fileStem(a.name)}.adapter_model.safetensors`);
    downloadBytes(f.config, `${fileStem(a.name)}.adapter_config.json`, 'application/json');
  } catch (e) {
    notify('error', errorText(e), { where: 'export adapter' });
  }
}
