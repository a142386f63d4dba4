// The adapter evaluators the sweep jobs share, cached in the session like the vector ones: keyed by the
// adapter's shape (and the rows), under the same "loss|" / "kl|" prefixes so new data or documents drop them.

import { sampleWithoutReplacement } from '../../lab/data';
import { AdapterKlEvaluator, AdapterLossEvaluator } from '../../lab/adapters/evaluator';
import { loraLayout, type AdapterShape } from '../../lab/adapters/lora';
import { assertAdapterFits } from '../../lab/adapters/match';
import { documentRows } from '../../lab/data/documents';
import type { AdapterInput } from '../protocol';
import type { WorkerSession } from '../session';

const shapeKey = (s: AdapterShape) => `lora:${s.rank}:${s.alpha}:${s.keys.join(',')}`;

export function adapterLossEvaluator(session: WorkerSession, shape: AdapterShape, rows: number, signal: AbortSignal): Promise<AdapterLossEvaluator> {
  const { model, tok } = session.requireModel();
  const data = session.requireData('train');
  return session.derive(`loss|${shapeKey(shape)}|${rows}`, () => AdapterLossEvaluator.create(model, shape, sampleWithoutReplacement(data.train, rows, 42), tok.padId, { signal }));
}

export function adapterKlEvaluator(session: WorkerSession, shape: AdapterShape, maxTokens: number, signal: AbortSignal): Promise<AdapterKlEvaluator> {
  const { model, tok } = session.requireModel();
  const docs = session.finewebDocs;
  return session.derive(`kl|${shapeKey(shape)}|${docs.length}|${maxTokens}`, () => AdapterKlEvaluator.create(model, shape, documentRows(tok, docs, maxTokens), tok.padId, { signal }));
}

/** Checks each adapter against the loaded model (its modelId when given, its layers, θ's size) before any work starts. */
export function checkAdapters(session: WorkerSession, adapters: Record<string, AdapterInput> | undefined): [string, AdapterInput][] {
  const { model, info } = session.requireModel();
  return Object.entries(adapters ?? {}).map(([name, a]) => {
    if (a.modelId !== undefined) assertAdapterFits({ modelId: a.modelId, keys: a.shape.keys }, info, `adapter ${name}`);
    const { size } = loraLayout(model.config, a.shape);
    if (a.data.length !== size) throw new Error(`adapter ${name} has ${a.data.length} parameters, its shape needs ${size} on the loaded model`);
    return [name, a];
  });
}
