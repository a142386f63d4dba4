// Which vectors belong to the loaded model. The dimension alone is not enough: different models share widths
// (every fine-tune of a base; Llama-3.2-1B and Qwen2.5-3B both have 2048), and a vector
// trained on one is noise on another. A vector fits when it was made for this repository, at a layer this
// model has, with its width.

import { plural } from '../../engine/plural';

export interface ModelShape {
  repo: string;
  layers: number;
  dModel: number;
}

export interface VectorLike {
  modelId: string;
  layer: number;
  data: { length: number };
}

/** null when the vector fits the model, else the reason in one plain sentence. */
export function vectorMismatch(v: VectorLike, m: ModelShape): string | null {
  if (v.modelId !== m.repo) return `it was made for ${v.modelId}, and the loaded model is ${m.repo}`;
  if (!Number.isInteger(v.layer) || v.layer < 0 || v.layer >= m.layers) return `its layer ${v.layer} does not exist in this ${m.layers}-layer model`;
  if (v.data.length !== m.dModel) return `it has ${plural(v.data.length, 'dimension')} and the model ${m.dModel}`;
  return null;
}

export function vectorFits(v: VectorLike, m: ModelShape | undefined | null): boolean {
  return !!m && vectorMismatch(v, m) === null;
}

/** Throws the mismatch (for jobs that get a vector from the page). */
export function assertVectorFits(v: VectorLike, m: ModelShape): void {
  const why = vectorMismatch(v, m);
  if (why) throw new Error(`this vector does not fit the loaded model: ${why}`);
}
