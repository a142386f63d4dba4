// Counted nouns in every message the lab shows or throws: "1 row", "3 rows", "0 points". It sits in the engine, the
// bottom of the import order (engine → models → lab → worker/ui), so that every layer's messages use the same words.

/** "1 row", "2 rows", "1,024 rows"; `many` for irregular plurals ("1 batch", "2 batches"). */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/** The noun alone, for counts written elsewhere in the sentence ("line 3" / "lines 3, 7"). */
export function noun(n: number, one: string, many = `${one}s`): string {
  return n === 1 ? one : many;
}
