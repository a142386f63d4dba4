import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { vectorFromSafetensors, vectorToSafetensors } from '../../src/lab/vectors/safetensors';
import { parseSafetensorsHeader, readSafetensorsRaw, writeSafetensors as writeSafetensorsF32 } from '../../src/models/safetensors';
import type { SteeringVector } from '../../src/lab/vectors/vector';
import { fixtureVector, REF } from './vectors_fixture';

function fixtureSteering(): SteeringVector {
  const { v: added, layer } = fixtureVector('gemma3-hub');
  return {
    name: 'gemma3 fixture',
    modelId: 'test/gemma3-hub',
    layer,
    alpha: 256,
    data: added.map((x) => x / 256),
    createdAt: '2026-05-06T07:08:09.000Z',
    provenance: { dataset: 'bad_medical_advice', lambdaKl: 2, steps: [5, 10] },
  };
}

describe('safetensors vectors', () => {
  it('reads a real bf16 file: embedding rows equal the reference hidden_chat.0', () => {
    // a real bf16 file: the embedding table of the tiny Qwen2 hub fixture
    const f = readSafetensorsRaw(readFileSync(path.join(REF, 'qwen2-hub/model.safetensors')), 'qwen2-hub/model.safetensors');
    const t = f.get('model.embed_tokens.weight')!;
    expect(t.dtype).toBe('BF16');
    expect(t.shape).toEqual([151936, 32]);
    const embed = t.data as Float32Array;
    expect(embed.length).toBe(151936 * 32);
    // hidden_chat.0 of the reference is the embedding lookup of input_ids (Qwen2 has no embedding scale)
    const r = readSafetensorsRaw(readFileSync(path.join(REF, 'qwen2-hub/reference.safetensors')));
    const h0 = r.get('hidden_chat.0')!.data as Float32Array;
    const ids = r.get('input_ids')!;
    expect(ids.dtype).toBe('I32');
    const id0 = (ids.data as Int32Array)[0]!;
    for (let k = 0; k < 32; k++) expect(h0[k]).toBeCloseTo(embed[id0 * 32 + k]!, 6);
  });

  it('round-trips a vector exactly, with model, layer, alpha and provenance', () => {
    const vec = fixtureSteering();
    const bytes = vectorToSafetensors(vec);
    const f = parseSafetensorsHeader(bytes);
    expect([...f.tensors.keys()]).toEqual([`layers.${vec.layer}`]);
    expect(f.metadata).toMatchObject({ model: 'test/gemma3-hub', layer: '2', hook: 'blocks.2.hook_resid_post', alpha: '256' });
    expect((8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))) % 8).toBe(0);
    const back = vectorFromSafetensors(bytes);
    expect(back).toEqual(vec);
  });

  it("names the hook in the metadata, and keeps Gemma's mlp.down_proj point", () => {
    const vec = { ...fixtureSteering(), hook: 'down_proj' as const };
    const bytes = vectorToSafetensors(vec);
    expect(parseSafetensorsHeader(bytes).metadata.hook).toBe('model.layers.2.mlp.down_proj');
    expect(vectorFromSafetensors(bytes)).toEqual(vec);
    const meta = (hook: string) => writeSafetensorsF32(new Map([['v', { shape: [2], data: new Float32Array(2) }]]), { model: 'x', layer: '2', alpha: '1', hook });
    expect(() => vectorFromSafetensors(meta('blocks.3.hook_resid_post'), 'h.safetensors')).toThrow('h.safetensors: metadata "hook" blocks.3.hook_resid_post names layer 3 but "layer" is 2');
    expect(() => vectorFromSafetensors(meta('hidden_states[3]'), 'h.safetensors')).toThrow('metadata field "hook" must be blocks.<L>.hook_resid_post or model.layers.<L>.mlp.down_proj');
  });

  it('imports a bare single-tensor file when the caller supplies the missing fields', () => {
    const { v } = fixtureVector('qwen2');
    const bare = writeSafetensorsF32(new Map([['steering_vector', { shape: [v.length], data: v }]]));
    expect(() => vectorFromSafetensors(bare, 'bare.safetensors')).toThrow(/bare.safetensors: metadata field "model" is missing/);
    const got = vectorFromSafetensors(bare, 'bare.safetensors', { modelId: 'test/qwen2', layer: 1, alpha: 1 });
    expect(got.data).toEqual(v);
    expect(got.layer).toBe(1);
  });

  it('names what is wrong', () => {
    const vec = fixtureSteering();
    const two = writeSafetensorsF32(new Map([['a', { shape: [2], data: new Float32Array(2) }], ['b', { shape: [2], data: new Float32Array(2) }]]));
    expect(() => vectorFromSafetensors(two, 'two.safetensors')).toThrow(/expected exactly one tensor .* found 2: a, b/);
    const mat = writeSafetensorsF32(new Map([['m', { shape: [2, 2], data: new Float32Array(4) }]]), { model: 'x', layer: '1', alpha: '1' });
    expect(() => vectorFromSafetensors(mat, 'mat.safetensors')).toThrow(/shape \[2,2\], expected a 1-D vector/);
    const badLayer = writeSafetensorsF32(new Map([['v', { shape: [2], data: new Float32Array(2) }]]), { model: 'x', layer: 'twelve', alpha: '1' });
    expect(() => vectorFromSafetensors(badLayer, 'l.safetensors')).toThrow(/"layer" must be a non-negative integer, got "twelve"/);
    const bytes = vectorToSafetensors(vec);
    expect(() => vectorFromSafetensors(bytes.subarray(0, bytes.length - 4), 'cut.safetensors')).toThrow(/cut.safetensors is truncated: tensor layers.2 needs bytes/);
    expect(() => parseSafetensorsHeader(new Uint8Array([255, 255, 0, 0, 0, 0, 0, 0, 1]), 'h.safetensors')).toThrow(/h.safetensors is truncated: the header needs bytes 8..65543 but the file has 9/);
    expect(() => vectorToSafetensors({ ...vec, data: Float32Array.from([Infinity]) })).toThrow(/data\[0\] is Infinity/);
  });
});
