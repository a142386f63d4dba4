// Fuzz: 5,000+ random and mutated share links into decodeShareFragment. Every input either decodes to a valid
// vector or is refused with an Error that starts "share link:" and names the field that was wrong. A link that
// claims a huge d never allocates it (see the bounded Float32Array below).

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeShareFragment, encodeShareFragment } from '../../src/lab/vectors/share';
import type { SteeringVector } from '../../src/lab/vectors/vector';
import { gaussian } from '../lab/vectors_fixture';
import { mutatedText, rejection, RUNS } from './mutate';

const FIELDS = ['v', 'model', 'layer', 'alpha', 'd', 'f16', 'q8', 'scale', 'name', 'modelId', 'data', 'createdAt'];
/** "share link: <field> …", "share link: missing <field>" or "share link: <field>=<value> …" */
const NAMES_FIELD = new RegExp(`^share link: (missing )?(${FIELDS.join('|')})(\\b|=|\\[)`);

const vec = (d: number, seed: number, over: Partial<SteeringVector> = {}): SteeringVector => ({
  name: `v${seed} & co #1`,
  modelId: 'onnx-community/Qwen2.5-0.5B-Instruct',
  layer: 12,
  alpha: 256,
  data: gaussian(d, seed, 0.01),
  createdAt: '2026-01-01T00:00:00.000Z',
  provenance: {},
  ...over,
});

const samples = [
  encodeShareFragment(vec(8, 1)),
  encodeShareFragment(vec(8, 2), { encoding: 'q8' }),
  encodeShareFragment(vec(64, 3, { alpha: -3.5, layer: 0 })),
  encodeShareFragment(vec(3, 4, { name: 'ünï =&?#' }), { encoding: 'q8' }),
];

/** a valid link with one parameter replaced, removed or repeated */
const paramEdit = fc
  .tuple(
    fc.constantFrom(...samples),
    fc.constantFrom('v', 'model', 'layer', 'alpha', 'name', 'd', 'f16', 'q8', 'scale', 'x'),
    fc.oneof(
      fc.constant(null),
      fc.string({ maxLength: 40 }),
      fc.constantFrom('0', '-1', '1e400', 'NaN', '500000000', '1.5', '9007199254740993', '', 'AAAA', '____', '+/+/', '=='),
      fc.integer().map(String),
      fc.double().map(String),
    ),
  )
  .map(([s, k, v]) => {
    const p = new URLSearchParams(s.slice(1));
    if (v === null) p.delete(k);
    else if (k === 'x') p.append(k, v);
    else p.set(k, v);
    return `#${p}`;
  });

const links = fc.oneof({ weight: 3, arbitrary: mutatedText(samples) }, { weight: 2, arbitrary: paramEdit }, { weight: 1, arbitrary: fc.string({ maxLength: 300 }).map((s) => `#v=1&${s}`) });

describe('fuzz: share links', () => {
  beforeAll(() => {
    // any attempt to allocate a vector far larger than a link can carry fails the run loudly
    const Real = Float32Array;
    vi.stubGlobal('Float32Array', new Proxy(Real, { construct: (t, a) => (typeof a[0] === 'number' && a[0] > 1e6 ? (() => { throw new Error(`allocated Float32Array(${a[0]})`); })() : Reflect.construct(t, a)) }));
  });
  afterAll(() => vi.unstubAllGlobals());

  it(`${RUNS} random and mutated links: a valid vector or an error naming the field`, () => {
    let decoded = 0;
    fc.assert(
      fc.property(links, (link) => {
        const e = rejection(() => {
          const v = decodeShareFragment(link);
          expect(v.data.length).toBe(Number(new URLSearchParams(link.slice(link.indexOf('#') + 1)).get('d')));
          decoded++;
        });
        if (e) expect(e.message).toMatch(NAMES_FIELD);
      }),
      { numRuns: RUNS, seed: 8001 },
    );
    // the mutations keep some links valid, so both outcomes are exercised
    expect(decoded).toBeGreaterThan(50);
  });
});
