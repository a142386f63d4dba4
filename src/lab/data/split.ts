// Seeded held-out split and epoch shuffles, so that a run's data order is reproducible from its seed.

import { Rng, deriveSeed, permutation } from '../rng';

export interface Split<T> {
  train: T[];
  heldOut: T[];
}

/**
 * Holds out ceil(fraction·n) items chosen by a seeded permutation (the HF datasets train_test_split rounding).
 * Both parts keep the original file order, so that the split is easy to inspect; shuffle per epoch with epochOrder.
 */
export function heldOutSplit<T>(items: readonly T[], opts: { fraction?: number; seed?: number } = {}): Split<T> {
  const fraction = opts.fraction ?? 0.1;
  const seed = opts.seed ?? 42;
  if (!(fraction >= 0 && fraction < 1)) throw new Error(`heldOutSplit: fraction must be in [0, 1), got ${fraction}`);
  const n = items.length;
  let nHeld = Math.ceil(fraction * n);
  if (nHeld >= n) nHeld = Math.max(0, n - 1); // always leave something to train on
  const held = new Uint8Array(n);
  const perm = permutation(n, deriveSeed(seed, 'heldout'));
  for (let i = 0; i < nHeld; i++) held[perm[i]!] = 1;
  const train: T[] = [];
  const heldOut: T[] = [];
  for (let i = 0; i < n; i++) (held[i] ? heldOut : train).push(items[i]!);
  return { train, heldOut };
}

/** The order of items in a given epoch: a fresh seeded shuffle per (seed, epoch). */
export function epochOrder<T>(items: readonly T[], seed: number, epoch: number): T[] {
  return new Rng(deriveSeed(seed, 'epoch', epoch)).shuffle(items.slice());
}

/** A seeded sample of k items without replacement (e.g. the 100 loss-evaluation examples of Fig 4a, seed 42). */
export function sampleWithoutReplacement<T>(items: readonly T[], k: number, seed: number): T[] {
  if (!Number.isInteger(k) || k < 0) throw new Error(`sampleWithoutReplacement: k must be a non-negative integer, got ${k}`);
  const perm = permutation(items.length, deriveSeed(seed, 'sample'));
  return perm.slice(0, Math.min(k, items.length)).map((i) => items[i]!);
}
