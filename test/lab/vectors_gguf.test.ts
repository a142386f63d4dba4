import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gguf } from '@huggingface/gguf';
import { describe, expect, it } from 'vitest';
import { readGguf, vectorsFromGguf, vectorToGguf, writeGguf } from '../../src/lab/vectors/gguf';
import type { SteeringVector } from '../../src/lab/vectors/vector';
import { fixtureVector, gaussian } from './vectors_fixture';

function fixtureSteering(): SteeringVector {
  const { v: added, layer } = fixtureVector('qwen2');
  return {
    name: 'qwen2 fixture vector',
    modelId: 'test/qwen2',
    layer,
    alpha: 256,
    data: added.map((x) => x / 256),
    createdAt: '2026-03-04T05:06:07.000Z',
    provenance: { source: 'reference fixture' },
  };
}

describe('GGUF control vectors', () => {
  it('writes a file @huggingface/gguf parses as a llama.cpp control vector', async () => {
    const { v: added } = fixtureVector('qwen2');
    const dirs = new Map([
      [3, gaussian(added.length, 11, 0.5)],
      [1, added],
    ]);
    const bytes = writeGguf({ modelHint: 'qwen2', directions: dirs });
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'steerlab-gguf-')), 'cv.gguf');
    writeFileSync(file, bytes);
    const g = await gguf(file, { allowLocalFile: true });
    const md = g.metadata as unknown as Record<string, unknown>;
    expect(md.version).toBe(3);
    expect(md['general.architecture']).toBe('controlvector');
    expect(md['controlvector.model_hint']).toBe('qwen2');
    expect(md['controlvector.layer_count']).toBe(2);
    expect(g.tensorInfos.map((t) => t.name)).toEqual(['direction.1', 'direction.3']);
    expect(Number(g.tensorDataOffset) % 32).toBe(0);
    for (const t of g.tensorInfos) {
      expect(t.dtype).toBe(0); // GGML F32
      expect(t.shape).toEqual([BigInt(added.length)]);
      expect(Number(t.offset) % 32).toBe(0);
      // the bytes at the offset the other parser found are exactly our direction
      const start = Number(g.tensorDataOffset + t.offset);
      const got = new Float32Array(bytes.slice(start, start + 4 * added.length).buffer);
      expect(got).toEqual(dirs.get(Number(t.name.split('.')[1])));
    }
  });

  it('round-trips a steering vector (α·v stored, v recovered) through our reader', () => {
    const vec = fixtureSteering();
    const back = vectorsFromGguf(vectorToGguf(vec, 'qwen2'), 'cv.gguf');
    expect(back).toHaveLength(1);
    const b = back[0]!;
    expect(b.layer).toBe(vec.layer);
    expect(b.alpha).toBe(256);
    expect(b.modelId).toBe('test/qwen2');
    expect(b.name).toBe(vec.name);
    expect(b.createdAt).toBe(vec.createdAt);
    expect(b.data).toEqual(vec.data); // α is a power of two: v·α/α is exact
    const g = readGguf(vectorToGguf(vec, 'qwen2'));
    const stored = g.directions.get(vec.layer)!;
    const { v: added } = fixtureVector('qwen2');
    expect(stored).toEqual(added); // the direction llama.cpp would add is the effective vector
    expect(g.layerCount).toBe(1);
    // llama.cpp adds control vectors to the block output: a vector trained at Gemma's mlp.down_proj is refused
    expect(() => vectorToGguf({ ...vec, hook: 'down_proj' }, 'gemma2')).toThrow(/added at model\.layers\.\d+\.mlp\.down_proj; llama\.cpp adds control vectors to the block output/);
  });

  it('reads foreign files without steerlab metadata as α = 1', () => {
    const d = gaussian(896, 5, 0.3);
    const vs = vectorsFromGguf(writeGguf({ modelHint: 'qwen2', directions: new Map([[12, d], [13, d]]) }), 'repeng.gguf', {
      modelId: 'onnx-community/Qwen2.5-0.5B-Instruct',
    });
    expect(vs.map((v) => [v.layer, v.alpha, v.modelId])).toEqual([
      [12, 1, 'onnx-community/Qwen2.5-0.5B-Instruct'],
      [13, 1, 'onnx-community/Qwen2.5-0.5B-Instruct'],
    ]);
    expect(vs[0]!.data).toEqual(d);
  });

  it('refuses what llama.cpp refuses and names the problem', () => {
    const d = gaussian(64, 1);
    expect(() => writeGguf({ modelHint: 'qwen2', directions: new Map([[0, d]]) })).toThrow(/layer 0 cannot be exported/);
    expect(() => writeGguf({ modelHint: 'qwen2', directions: new Map([[1, d], [2, d.subarray(1)]]) })).toThrow(/layer 2 has 63 values/);
    const good = writeGguf({ modelHint: 'qwen2', directions: new Map([[4, d]]) });
    expect(() => readGguf(new TextEncoder().encode('PK\x03\x04 not gguf'), 'x.gguf')).toThrow(/x.gguf: not a GGUF file/);
    expect(() => readGguf(good.subarray(0, good.length - 10), 'cut.gguf')).toThrow(/cut.gguf: tensor direction.4 data .* runs past the end/);
    expect(() => readGguf(good.subarray(0, 30), 'head.gguf')).toThrow(/head.gguf: truncated while reading/);
    const v4 = good.slice();
    v4[4] = 4;
    expect(() => readGguf(v4, 'v4.gguf')).toThrow(/GGUF version 4 is not supported/);
    // rename direction.4 -> direction.0 in place (same length)
    const zero = good.slice();
    const at = Buffer.from(zero).indexOf('direction.4');
    zero[at + 10] = '0'.charCodeAt(0);
    expect(() => readGguf(zero, 'z.gguf')).toThrow(/direction.0: layer index 0 is invalid/);
    // a model file, not a control vector
    const model = good.slice();
    const ai = Buffer.from(model).indexOf('controlvector');
    model.set(new TextEncoder().encode('llama\0\0\0\0\0\0\0\0'), ai);
    expect(() => readGguf(model, 'm.gguf')).toThrow(/general.architecture is "llama\\u0000/);
  });
});
