// Browser entry of the reference check: the same runReference the Node suite uses, on the WebGPU EP.
import { createBackend } from '../../src/engine/runtime/backend';
import { runReference, type ReferenceFiles } from '../../src/models/verify_pytorch_reference';
import { tokenizeReferenceText } from '../../src/lab/verify_reference_tokenize';
import { trainStepCheck } from '../../src/lab/train/verify_step';
import { SourceError } from '../../src/models/file_source';

declare global {
  interface Window {
    steerlabReference(folderUrl: string, ortDist: string, optLevel?: 'disabled' | 'basic' | 'extended' | 'all'): Promise<unknown>;
  }
}

window.steerlabReference = async (folderUrl, ortDist, optLevel) => {
  const backend = await createBackend({ prefer: 'webgpu', wasmPaths: ortDist, graphOptimizationLevel: optLevel });
  const files: ReferenceFiles = {
    get: async (p) => {
      const r = await fetch(folderUrl + p);
      // a 404 is a missing file, as the lab's own Hub source reports it (optional tokenizer files fall back)
      if (r.status === 404) throw new SourceError(`${folderUrl}${p}: not found`, 'missing');
      if (!r.ok) throw new Error(`${folderUrl}${p}: HTTP ${r.status}`);
      return new Uint8Array(await r.arrayBuffer());
    },
    has: async (p) => (await fetch(folderUrl + p, { method: 'HEAD' })).ok,
  };
  // the trainer's own step too: graph-captured on WebGPU, as training runs it
  const result = await runReference(files, backend, { tokenize: tokenizeReferenceText, trainStep: trainStepCheck() });
  return { backend: backend.kind, reason: backend.reason, adapter: backend.adapter?.description ?? backend.adapter?.vendor, ...result };
};
