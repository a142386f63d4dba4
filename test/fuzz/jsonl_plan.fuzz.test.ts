// Fuzz: 5,000+ random and mutated inputs each into the chat-JSONL reader (plain and gzip, real dataset rows
// mutated byte by byte and line by line) and the plan parser (the example plan with fields replaced, removed or
// added). The reader never throws for a bad line: it reports it with its line number and reason, and throws only
// for an input that is not JSONL at all, naming it. The parser accepts the plan or names the field path.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { gunzipSync, gzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { readChatJsonl } from '../../src/lab/data/jsonl';
import { parsePlan } from '../../src/lab/plan/schema';
import { DATASETS } from '../lab/data_fixtures';
import { asyncRejection, mutatedBytes, rejection, RUNS } from './mutate';

describe('fuzz: chat JSONL', () => {
  const real = new TextDecoder().decode(gunzipSync(new Uint8Array(readFileSync(path.join(DATASETS, 'bad_medical_advice.jsonl.gz'))))).split('\n');
  const enc = new TextEncoder();
  const sample = (from: number, n: number) => enc.encode(real.slice(from, from + n).join('\n'));
  const samples = [sample(0, 3), sample(100, 6), enc.encode(`\uFEFF${real[5]}\r\n\r\n${real[6]}\n`), enc.encode('{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}')];
  /** lines shuffled from real rows and JSON-ish fragments */
  const lines = fc
    .array(
      fc.oneof(
        fc.constantFrom(...real.slice(0, 40)),
        fc.constantFrom('', '   ', '{}', '[]', 'null', '{"messages": 5}', '{"messages": []}', '{"messages":[{"role":"user","content":"x"}]}', '{"messages":[{"role":"bot","content":"x"}]}', '{"messages":[null]}', '<html>', '\u0000\u0001'),
        fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
        fc.string({ maxLength: 60 }),
      ),
      { minLength: 1, maxLength: 30 },
    )
    .map((ls) => enc.encode(ls.join('\n')));
  const inputs = fc.tuple(fc.oneof(mutatedBytes(samples), lines), fc.boolean()).map(([b, gz]) => ({ bytes: gz ? gzipSync(b) : b, gz }));
  /** gzip of mutated bytes, then mutated again: corrupt/truncated gzip */
  const broken = mutatedBytes([gzipSync(samples[1]!), gzipSync(samples[0]!)]).map((bytes) => ({ bytes, gz: true }));
  const NAMED = /^fuzz\.jsonl: (empty (gzip )?file|not a chat JSONL file|not a JSONL file: none of the first \d+ lines is JSON \(line \d+: .+\)|no valid chat rows in \d+ lines?|gzip data is corrupt or truncated)/s;

  it(`${RUNS} inputs: rows and bad lines with line numbers, or an error naming the input`, async () => {
    let withRows = 0;
    await fc.assert(
      // both gunzip paths: the platform's DecompressionStream (browsers, Node) and fflate (the fallback)
      fc.asyncProperty(fc.oneof({ weight: 4, arbitrary: inputs }, { weight: 1, arbitrary: broken }), fc.constantFrom('native' as const, 'fflate' as const), async ({ bytes }, decompressor) => {
        const e = await asyncRejection(async () => {
          const ds = await readChatJsonl(bytes, { name: 'fuzz.jsonl', decompressor });
          expect(ds.rows.length).toBeGreaterThan(0);
          const seen = [...ds.rows.map((r) => r.line), ...ds.bad.map((b) => b.line)];
          expect(new Set(seen).size).toBe(seen.length);
          for (const b of ds.bad) {
            expect(b.line).toBeGreaterThanOrEqual(1);
            expect(b.line).toBeLessThanOrEqual(ds.lines);
            expect(b.reason.length).toBeGreaterThan(0);
          }
          for (const r of ds.rows) expect(r.messages.some((m) => m.role === 'assistant')).toBe(true);
          withRows++;
        });
        if (e && !NAMED.test(e.message)) throw new Error(`unnamed rejection: ${JSON.stringify(e.message)}`);
      }),
      { numRuns: RUNS, seed: 8005 },
    );
    expect(withRows).toBeGreaterThan(500);
  }, 120_000);
});

describe('fuzz: study plans', () => {
  const example = JSON.parse(readFileSync(path.resolve(__dirname, '../../examples/qwen2-hub-study.json'), 'utf8'));
  /** every path to a value in the example plan */
  const paths: (string | number)[][] = [];
  const walk = (x: unknown, at: (string | number)[]) => {
    if (at.length) paths.push(at);
    if (x && typeof x === 'object') for (const [k, v] of Object.entries(x)) walk(v, [...at, Array.isArray(x) ? Number(k) : k]);
  };
  walk(example, []);
  const value = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(0, -1, 1.5, 1e9, 1e300, -0, '', 'x', [], {}, null, true, ['general'], [0.5, 2], 'general'),
  );
  type Edit = { path: (string | number)[]; kind: 'set' | 'delete' | 'add'; value: unknown; key: string };
  const edit: fc.Arbitrary<Edit> = fc.record({
    path: fc.constantFrom(...paths),
    kind: fc.constantFrom('set' as const, 'set' as const, 'delete' as const, 'add' as const),
    value,
    key: fc.oneof(fc.constantFrom('lamda_kl', 'steps', 'epochs', '_note', 'rows'), fc.string({ maxLength: 8 })),
  });
  const mutate = (edits: Edit[]) => {
    const p = structuredClone(example);
    for (const e of edits) {
      let o = p;
      for (const k of e.path.slice(0, -1)) o = o?.[k];
      if (!o || typeof o !== 'object') continue;
      const last = e.path.at(-1)!;
      if (e.kind === 'set') o[last] = e.value;
      else if (e.kind === 'delete') Array.isArray(o) ? o.splice(Number(last), 1) : delete o[last];
      else if (!Array.isArray(o)) o[e.key] = e.value;
    }
    return p;
  };
  const plans = fc.oneof({ weight: 6, arbitrary: fc.array(edit, { minLength: 1, maxLength: 4 }).map(mutate) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) });
  /** "invalid plan: " then the field path (plan, plan.train.max_len, plan.runs[2].init_from, …) and the reason */
  const NAMED = /^invalid plan: plan(\.[A-Za-z_$][\w$]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\])* \S/s;

  it(`${RUNS} plans: accepted, or refused naming the field path`, () => {
    let accepted = 0;
    fc.assert(
      fc.property(plans, (p) => {
        const e = rejection(() => {
          const plan = parsePlan(p);
          expect(plan.runs.length).toBeGreaterThan(0);
          accepted++;
        });
        if (e && !NAMED.test(e.message)) throw new Error(`unnamed rejection: ${JSON.stringify(e.message)}`);
      }),
      { numRuns: RUNS, seed: 8006 },
    );
    expect(accepted).toBeGreaterThan(100);
  });
});
