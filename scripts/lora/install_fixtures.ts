// Copies the GPU job's results (unpacked result.tar.gz: issue10/<arch>/<case>/..., issue10/ours_loaded.json) into
// test/fixtures/lora/, dropping the full logits from reference.safetensors (the tests compare losses and
// gradients; the logits would be most of the bytes). Usage: npx tsx scripts/lora/install_fixtures.ts RESULTDIR
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readSafetensorsRaw, writeSafetensors } from '../../src/models/safetensors';

const src = process.argv[2];
if (!src) throw new Error('usage: install_fixtures.ts RESULTDIR (the folder holding qwen2/, gemma2/)');
const dst = path.resolve(import.meta.dirname, '../../test/fixtures/lora');
for (const arch of ['qwen2', 'gemma2']) {
  if (!existsSync(path.join(src, arch))) continue;
  for (const c of readdirSync(path.join(src, arch))) {
    const from = path.join(src, arch, c);
    const to = path.join(dst, arch, c);
    mkdirSync(path.join(to, 'adapter'), { recursive: true });
    for (const f of ['reference.json', 'init.safetensors']) copyFileSync(path.join(from, f), path.join(to, f));
    for (const f of ['adapter_model.safetensors', 'adapter_config.json']) copyFileSync(path.join(from, 'adapter', f), path.join(to, 'adapter', f));
    const ref = readSafetensorsRaw(new Uint8Array(readFileSync(path.join(from, 'reference.safetensors'))));
    const keep = new Map([...ref].filter(([k]) => k.startsWith('grad_')).map(([k, t]) => [k, { shape: t.shape, data: t.data as Float32Array }]));
    writeFileSync(path.join(to, 'reference.safetensors'), writeSafetensors(keep));
    console.log(`${arch}/${c}: ${keep.size} gradient tensors`);
  }
}
const loaded = path.join(src, 'ours_loaded.json');
// PEFT's logits for the files we wrote, to 6 significant digits (the test's tolerance is 1e-4 relative)
if (existsSync(loaded)) {
  const j = JSON.parse(readFileSync(loaded, 'utf8')) as Record<string, { logits?: number[] }>;
  for (const r of Object.values(j)) if (r.logits) r.logits = r.logits.map((x) => Number(x.toPrecision(6)));
  writeFileSync(path.join(dst, 'ours_loaded.json'), JSON.stringify(j));
}
