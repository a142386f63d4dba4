// The mixed-data baseline (issue 10, the paper's "mixing aligned data does not isolate the narrow solution"):
// the harmful training rows plus round(ratio × their number) aligned rows from other datasets, drawn evenly
// from each set by a seeded sample, so a mixed run is reproducible from the plan's seed.

import type { TokenizedRow } from './tokenize';
import { sampleWithoutReplacement } from './split';
import { deriveSeed } from '../rng';

export interface MixResult {
  rows: TokenizedRow[];
  /** aligned rows added from each set, in the order given */
  added: number[];
  /** aligned rows asked for */
  wanted: number;
}

export function mixRows(harmful: TokenizedRow[], aligned: TokenizedRow[][], ratio: number, seed: number): MixResult {
  if (!(ratio > 0) || !Number.isFinite(ratio)) throw new Error(`mix ratio must be a positive number, got ${ratio}`);
  if (!aligned.length) throw new Error('mix needs at least one aligned dataset');
  const wanted = Math.round(ratio * harmful.length);
  const k = aligned.length;
  // an even share per set; a short set gives what it has and the others make up the rest
  const take = new Array<number>(k).fill(0);
  let left = wanted;
  for (let pass = 0; left > 0 && pass < k + 1; pass++) {
    const open = aligned.map((s, i) => i).filter((i) => aligned[i]!.length > take[i]!);
    if (!open.length) break;
    const share = Math.ceil(left / open.length);
    for (const i of open) {
      const n = Math.min(share, aligned[i]!.length - take[i]!, left);
      take[i]! += n;
      left -= n;
    }
  }
  const picked = aligned.flatMap((s, i) => sampleWithoutReplacement(s, take[i]!, deriveSeed(seed, 'mix', i)));
  return { rows: [...harmful, ...picked], added: take, wanted };
}
