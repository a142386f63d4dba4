// Input generators for the fuzz tests: random bytes, and mutations of a valid sample (byte flips, overwrites,
// insertions, deletions, truncation, repeated slices) — the mutated inputs reach deep into a parser, where purely
// random bytes stop at the magic number.

import fc from 'fast-check';

export const RUNS = 5000;

type Edit =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; n: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'repeat'; at: number; n: number };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(0, 0xff, 0x7f, 0x80, 0x22, 0x7b, 0x7d, 0x0a), fc.integer({ min: 0, max: 255 })) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 64 }) }),
);

function apply(base: Uint8Array, edits: Edit[]): Uint8Array {
  let b: Uint8Array = Uint8Array.from(base);
  for (const e of edits) {
    const at = b.length ? e.at % (b.length + 1) : 0;
    switch (e.kind) {
      case 'flip':
        if (at < b.length) b[at]! ^= 1 << e.bit;
        break;
      case 'set':
        if (at < b.length) b[at] = e.value;
        break;
      case 'insert':
        b = concat(b.subarray(0, at), e.bytes, b.subarray(at));
        break;
      case 'delete':
        b = concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + e.n)));
        break;
      case 'truncate':
        b = b.slice(0, at);
        break;
      case 'repeat':
        b = concat(b.subarray(0, at + Math.min(e.n, b.length - at)), b.subarray(at));
        break;
    }
  }
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** `samples` mutated by 1–6 edits (most inputs), or random bytes (a few). */
export function mutatedBytes(samples: Uint8Array[], maxRandom = 256): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.tuple(fc.constantFrom(...samples), fc.array(edit, { minLength: 1, maxLength: 6 })).map(([s, e]) => apply(s, e)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: maxRandom }) },
  );
}

/** The same for text: edits on the UTF-8 bytes, decoded back (broken sequences become U+FFFD). */
export function mutatedText(samples: string[]): fc.Arbitrary<string> {
  const enc = new TextEncoder();
  return fc.oneof(
    { weight: 6, arbitrary: mutatedBytes(samples.map((s) => enc.encode(s)), 64).map((b) => new TextDecoder().decode(b)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  );
}

/** Runs `f`; returns the Error it threw (anything thrown that is not an Error fails the property), or null. */
export function rejection(f: () => unknown): Error | null {
  try {
    f();
    return null;
  } catch (e) {
    if (!(e instanceof Error)) throw new Error(`threw a non-Error: ${String(e)}`);
    return e;
  }
}

export async function asyncRejection(f: () => Promise<unknown>): Promise<Error | null> {
  try {
    await f();
    return null;
  } catch (e) {
    if (!(e instanceof Error)) throw new Error(`threw a non-Error: ${String(e)}`);
    return e;
  }
}
