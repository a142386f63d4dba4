// Fuzz: 5,000+ random and mutated files each into the GGUF control-vector reader and the safetensors readers
// (the model loader's and the vector importer's). Every input is read or refused with an Error that names the
// file and what was wrong in it: a byte offset, a field, a tensor, a metadata key.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { vectorsFromGguf, vectorToGguf, writeGguf } from '../../src/lab/vectors/gguf';
import { vectorFromSafetensors, vectorToSafetensors } from '../../src/lab/vectors/safetensors';
import type { SteeringVector } from '../../src/lab/vectors/vector';
import { readSafetensorsRaw, writeSafetensors } from '../../src/models/safetensors';
import { fixtureVector, gaussian } from '../lab/vectors_fixture';
import { mutatedBytes, rejection, RUNS } from './mutate';

const vec = (data: Float32Array, over: Partial<SteeringVector> = {}): SteeringVector => ({
  name: 'fuzz',
  modelId: 'test/qwen2',
  layer: 2,
  alpha: 256,
  data,
  createdAt: '2026-01-01T00:00:00.000Z',
  provenance: { lr: 1e-4 },
  ...over,
});

describe('fuzz: GGUF control vectors', () => {
  const samples = [
    vectorToGguf(vec(fixtureVector('qwen2').v.map((x) => x / 256)), 'qwen2'),
    vectorToGguf(vec(gaussian(8, 1)), 'qwen2'),
    writeGguf({ modelHint: 'llama', directions: new Map([[1, gaussian(4, 2)], [3, gaussian(4, 3)]]) }),
  ];
  /** "<file>: " then what: an offset ("at byte N"), a field or key, a tensor, a layer */
  const NAMED = /^fuzz\.gguf: (not a GGUF file \(first bytes|truncated while reading .+ at byte \d+ \(file has \d+ bytes?\)|version field|GGUF version \d+|.+ = \d+ is implausibly large|.+ has unknown GGUF value type \d+|.+: arrays nested too deeply|general\.architecture is|general\.alignment|tensor .+|layer \d+ appears twice|no model id|(name|modelId|layer|alpha|data|createdAt)\b)/;

  it(`${RUNS} inputs: vectors or an error naming the offset or field`, () => {
    let read = 0;
    fc.assert(
      fc.property(mutatedBytes(samples), (bytes) => {
        const e = rejection(() => {
          const vs = vectorsFromGguf(bytes, 'fuzz.gguf', { modelId: 'test/x' });
          for (const v of vs) expect(v.data.every(Number.isFinite)).toBe(true);
          read++;
        });
        if (e && !NAMED.test(e.message)) throw new Error(`unnamed rejection: ${JSON.stringify(e.message)}`);
      }),
      { numRuns: RUNS, seed: 8002 },
    );
    expect(read).toBeGreaterThan(20);
  });
});

describe('fuzz: safetensors', () => {
  const samples = [
    vectorToSafetensors(vec(gaussian(16, 4))),
    vectorToSafetensors(vec(gaussian(3, 5), { name: 'ünï', provenance: { a: [1, 2] } })),
    writeSafetensors({ 'layers.3': { shape: [4], data: gaussian(4, 6) } }),
    writeSafetensors({ a: { shape: [2, 3], data: gaussian(6, 7) }, b: { shape: [0], data: new Float32Array(0) } }, { format: 'pt' }),
  ];
  /** structured headers: the JSON part rewritten with random dtypes, shapes, offsets and metadata */
  const header = fc
    .record({
      dtype: fc.oneof(fc.constantFrom('F32', 'F16', 'BF16', 'F64', 'I64', 'I32', 'I8', 'U8', 'BOOL', 'Q4'), fc.string({ maxLength: 4 })),
      shape: fc.oneof(fc.array(fc.integer({ min: -1, max: 9 }), { maxLength: 3 }), fc.constant('x')),
      // null: offsets that fit the dtype and shape, so the reader gets past the header checks
      offsets: fc.oneof(fc.constant(null), fc.array(fc.oneof(fc.integer({ min: -4, max: 80 }), fc.double()), { maxLength: 3 })),
      metadata: fc.oneof(
        // complete metadata, so the importer reaches the tensor data
        fc.constant({ model: 'test/qwen2', layer: '1', alpha: '2' }),
        fc.option(fc.dictionary(fc.constantFrom('model', 'layer', 'alpha', 'name', 'provenance', 'created_at', 'format'), fc.oneof(fc.string({ maxLength: 12 }), fc.integer().map(String), fc.jsonValue({ maxDepth: 1 }))), { nil: undefined }),
      ),
      body: fc.uint8Array({ maxLength: 80 }),
    })
    .map(({ dtype, shape, offsets, metadata, body }) => {
      const size = { F64: 8, I64: 8, F32: 4, I32: 4, F16: 2, BF16: 2 }[dtype] ?? 1;
      const n = Array.isArray(shape) ? shape.reduce((a, b) => a * b, 1) : 0;
      const data_offsets = offsets ?? [0, Math.max(0, n) * size];
      const h: Record<string, unknown> = { 'layers.1': { dtype, shape, data_offsets } };
      if (metadata) h.__metadata__ = metadata;
      const json = new TextEncoder().encode(JSON.stringify(h));
      const out = new Uint8Array(8 + json.length + body.length);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      out.set(body, 8 + json.length);
      return out;
    });
  const inputs = fc.oneof({ weight: 3, arbitrary: mutatedBytes(samples) }, { weight: 1, arbitrary: header });
  const NAMED = /^fuzz\.safetensors(:| is truncated:| is not a safetensors file:) ?(its header length|the header needs bytes|\d+ bytes?, not even|header is not|tensor .+|expected exactly one tensor|metadata field "(model|layer|alpha|provenance|hook)"|(name|modelId|layer|alpha|data|createdAt)\b)/;

  it(`${RUNS} inputs into the model loader's reader: tensors or an error naming the tensor or offset`, () => {
    fc.assert(
      fc.property(inputs, (bytes) => {
        const e = rejection(() => readSafetensorsRaw(bytes, 'fuzz.safetensors'));
        if (e) expect(e.message).toMatch(NAMED);
      }),
      { numRuns: RUNS, seed: 8003 },
    );
  });

  it(`${RUNS} inputs into the vector importer: a valid vector or an error naming the field`, () => {
    let read = 0;
    fc.assert(
      fc.property(inputs, (bytes) => {
        const e = rejection(() => {
          const v = vectorFromSafetensors(bytes, 'fuzz.safetensors');
          expect(v.data.every(Number.isFinite)).toBe(true);
          read++;
        });
        if (e) expect(e.message).toMatch(NAMED);
      }),
      { numRuns: RUNS, seed: 8004 },
    );
    expect(read).toBeGreaterThan(20);
  });
});
