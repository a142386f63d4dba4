// npm run --silent reference -- DIR
// Builds the model of a reference folder (../shared/reference layout), runs its inputs through our graphs on
// onnxruntime-web (wasm EP in Node) and prints ONE JSON line with the errors against PyTorch. Exit 0 only when
// every tolerance holds (see TOLERANCE in src/models/verify_pytorch_reference.ts).

import { readFile, access } from 'node:fs/promises';
import path from 'node:path';
import { createBackend } from '../src/engine/runtime/backend';
import { runReference, type ReferenceFiles } from '../src/models/verify_pytorch_reference';
import { tokenizeReferenceText } from '../src/lab/verify_reference_tokenize';

async function main() {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: npm run --silent reference -- DIR');
  const files: ReferenceFiles = {
    get: async (p) => {
      try {
        return new Uint8Array(await readFile(path.join(dir, p)));
      } catch {
        throw new Error(`${dir} has no ${p}`);
      }
    },
    has: (p) => access(path.join(dir, p)).then(() => true, () => false),
  };
  const backend = await createBackend({ prefer: 'wasm' });
  const r = await runReference(files, backend, { tokenize: tokenizeReferenceText });
  const { ok, failures, ...line } = r;
  console.log(JSON.stringify(line));
  if (!ok) {
    console.error(`reference check failed for ${dir}:\n  ${failures.join('\n  ')}`);
    process.exit(1);
  }
}

main().catch((e: Error) => {
  console.error(`reference: ${e.message}`);
  process.exit(2);
});
