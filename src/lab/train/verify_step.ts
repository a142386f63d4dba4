// The reference check's trainer-step hook (models/verify_pytorch_reference.ts TrainStepCheck): the reference batch
// goes through the trainer's own CE step (ce_step.ts) as training batches do — rows taken back from the padded
// tensors, padded again to a micro-batch one row larger than the batch (an empty row) and to the step's length
// bucket, label rows padded with weight 0, graph-captured on WebGPU — and must give PyTorch's CE and ∂CE/∂v.

import type { TrainStepCheck } from '../../models/verify_pytorch_reference';
import type { TokenizedRow } from '../data/tokenize';
import { CeStep } from './ce_step';
import { vectorTarget } from './target';

/** `padded`: on wasm, run the fixed-shape (captured route's) feeds through a plain session */
export function trainStepCheck(opts: { padded?: boolean } = {}): TrainStepCheck {
  return async (model, batch, layer, v) => {
    const rows: TokenizedRow[] = [];
    for (let b = 0; b < batch.B; b++) {
      let n = 0;
      for (let t = 0; t < batch.T; t++) n += batch.attentionMask[b * batch.T + t] ? 1 : 0;
      const ids = Int32Array.from({ length: n }, (_, t) => batch.inputIds[b * batch.T + t]!);
      const lossMask = Uint8Array.from({ length: n }, (_, t) => batch.lossMask[b * batch.T + t]!);
      rows.push({ line: b, ids, lossMask, promptLen: 0, fullLen: n, prefixFallback: false });
    }
    const target = vectorTarget(model, layer, 1);
    const longest = Math.max(...rows.map((r) => r.ids.length));
    const step = await CeStep.create(model, target, { microBatch: batch.B + 1, longest, padId: 0, padded: opts.padded });
    try {
      const { out } = await step.run(rows, target.feeds(v));
      return { route: step.route, ce: out.ce!.data[0] as number, grad: Float32Array.from(target.grad(out, 'ce')) };
    } finally {
      await step.release();
    }
  };
}
