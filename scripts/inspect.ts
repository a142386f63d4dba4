// npm run --silent inspect -- DIR|HUB_ID [--file F] [--hub-url URL] [--no-compare]
// "Will steerlab take this model?": one JSON line per ONNX file of a folder or Hub repository (or the named one):
// {"file","layout","dtype","bytes","external_chunks","ok","reason","logits_max_abs_diff_vs_ort"}; the last from a
// short run of that file through onnxruntime-web (wasm) beside our graph, on a few token ids.
// Exit 0 when every file is ok or refused with a reason; 1 when one loads but gives wrong logits; 2 on bad usage.

import { existsSync, statSync } from 'node:fs';
import { createBackend } from '../src/engine/runtime/backend';
import { dirSource, hubSource, type FileSource } from '../src/models/file_source';
import { listDirFiles, listHubFiles } from '../src/models/file_listing';
import { checkOnnxFile } from '../src/models/onnx_check';

function usage(msg: string): never {
  process.stderr.write(`${msg}\nusage: npm run --silent inspect -- DIR|HUB_ID [--file F] [--hub-url URL] [--no-compare]\n`);
  process.exit(2);
}

async function main() {
  const args = process.argv.slice(2);
  let target: string | undefined;
  let file: string | undefined;
  let hubUrl: string | undefined;
  let compare = true;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--file') file = args[++i] ?? usage('--file needs a path');
    else if (a === '--hub-url') hubUrl = args[++i] ?? usage('--hub-url needs a URL');
    else if (a === '--no-compare') compare = false;
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else if (target) usage(`one DIR or HUB_ID only (got ${target} and ${a})`);
    else target = a;
  }
  if (!target) usage('name a folder or a Hub repository id');
  const local = existsSync(target) && statSync(target).isDirectory();
  if (!local && !/^[\w.-]+\/[\w.-]+$/.test(target)) usage(`${target} is neither a folder nor a Hub repository id (owner/name)`);
  const token = process.env.HF_TOKEN || undefined;
  const src: FileSource = local ? dirSource(target) : hubSource(target, { baseUrl: hubUrl, token });
  let files: string[];
  if (file) files = [file];
  else {
    const listing = local ? await listDirFiles(target) : await listHubFiles(target, { baseUrl: hubUrl, token });
    files = listing.map((f) => f.path).filter((p) => p.endsWith('.onnx'));
    if (!files.length) usage(`${target} has no .onnx file`);
  }
  const backend = compare ? await createBackend({ prefer: 'wasm' }) : undefined;
  let mismatch = false;
  for (const f of files) {
    const r = await checkOnnxFile(src, f, { backend });
    if (r.status === 'mismatch') mismatch = true;
    process.stdout.write(JSON.stringify(r.verdict) + '\n');
  }
  process.exit(mismatch ? 1 : 0);
}

main().catch((e) => {
  process.stderr.write(`inspect failed: ${(e as Error).message}\n`);
  process.exit(1);
});
