// Writes adapters with steerlab's PEFT exporter into gpujobs/issue10/ours/<name>/ so the GPU job can check that
// PEFT's PeftModel.from_pretrained loads them (make_lora_reference.py check_ours). Each gets info.json with the
// model folder and the token ids PEFT runs; test/lab/adapters_peft.test.ts compares PEFT's logits with ours.
// Usage: npx tsx scripts/lora/write_export_check.ts OUTDIR
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseHfConfig } from '../../src/models/config_parse';
import { exportPeft } from '../../src/lab/adapters/peft';
import { exportCheckAdapters, EXPORT_CHECK_IDS } from '../../test/lab/adapters_export_cases';

const out = process.argv[2];
if (!out) throw new Error('usage: write_export_check.ts OUTDIR');
const ref = path.resolve(import.meta.dirname, '../../../shared/reference');
for (const arch of ['qwen2', 'gemma2']) {
  const cfg = parseHfConfig(JSON.parse(readFileSync(path.join(ref, arch, 'config.json'), 'utf8')));
  for (const [name, a] of Object.entries(exportCheckAdapters(cfg))) {
    const dir = path.join(out, `${arch}-${name}`);
    mkdirSync(dir, { recursive: true });
    const f = exportPeft(a, cfg, `steerlab-tiny-${arch}`);
    writeFileSync(path.join(dir, 'adapter_model.safetensors'), f.weights);
    writeFileSync(path.join(dir, 'adapter_config.json'), f.config);
    writeFileSync(path.join(dir, 'info.json'), JSON.stringify({ arch, input_ids: [EXPORT_CHECK_IDS] }));
    console.log(dir, a.keys.length, 'modules', a.data.length, 'params');
  }
}
