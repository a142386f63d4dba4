// LoRA runs leave the page as PEFT files (adapter_model.safetensors + adapter_config.json, what PeftModel and
// llama.cpp's convert_lora_to_gguf.py read) or, for rank-1 adapters, as share links; the worker writes the files
// because it holds the model's layer shapes.

import { describeAdapter } from '../../lab/adapters/lora';
import { encodeAdapterShare } from '../../lab/adapters/share';
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
    const f = await track(`export:${slot}`, 'Writing PEFT files', 'exportAdapter', { adapter: { shape, data } });
    const stem = fileStem(`${slot}-lora-r${shape.rank}`);
    downloadBytes(f.weights, `${stem}.adapter_model.safetensors`);
    downloadBytes(f.config, `${stem}.adapter_config.json`, 'application/json');
    notify('success', `Exported ${describeAdapter(shape, data.length)}: rename the two files to adapter_model.safetensors and adapter_config.json in one folder for PeftModel.from_pretrained.`);
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
