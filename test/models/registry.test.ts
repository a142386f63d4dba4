import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultModel, getModel, loadRegistry, parseRegistry, weightsFor } from '../../src/models/registry';

const root = path.resolve(__dirname, '../..');
const raw = () => JSON.parse(readFileSync(path.join(root, 'models/registry.json'), 'utf8'));
const hubConfig = (name: string) => JSON.parse(readFileSync(path.join(root, '../shared/reference', name, 'config.json'), 'utf8'));

describe('model registry', () => {
  it('loads, defaults to Qwen2.5-0.5B-Instruct q4 steered at layer 12', () => {
    const reg = loadRegistry();
    const m = defaultModel(reg);
    expect(m.id).toBe('onnx-community/Qwen2.5-0.5B-Instruct');
    expect([m.layers, m.dModel, m.defaultSteeringLayer]).toEqual([24, 896, 12]);
    expect(weightsFor(m).file).toBe('onnx/model_q4.onnx');
    expect(reg.models.map((x) => x.id)).toEqual(
      expect.arrayContaining(['onnx-community/Qwen2.5-1.5B-Instruct', 'onnx-community/Qwen3-0.6B-ONNX', 'onnx-community/gemma-3-1b-it-ONNX', 'Qwen/Qwen2.5-0.5B-Instruct']),
    );
    expect(reg.models.some((x) => x.arch === 'gemma2')).toBe(true);
    for (const x of reg.models) expect(x.defaultSteeringLayer).toBe(Math.floor(x.layers / 2));
  });

  it('agrees with the hub-layout fixtures on vocabulary size (they carry the real vocabularies)', () => {
    expect(getModel('onnx-community/Qwen2.5-0.5B-Instruct').vocabSize).toBe(hubConfig('qwen2-hub').vocab_size);
    expect(getModel('onnx-community/gemma-3-1b-it-ONNX').vocabSize).toBe(hubConfig('gemma3-hub').vocab_size);
  });

  it('names the bad field', () => {
    const bad = (edit: (r: any) => void) => {
      const r = raw();
      edit(r);
      return () => parseRegistry(r, 'reg.json');
    };
    expect(bad((r) => (r.models[1].layers = 0))).toThrow(/reg.json: models\[1\].layers must be a positive integer \(got 0\)/);
    expect(bad((r) => (r.models[0].defaultSteeringLayer = 11))).toThrow(/models\[0\].defaultSteeringLayer must be layers\/2 = 12 \(got 11\)/);
    expect(bad((r) => (r.models[2].arch = 'gpt2'))).toThrow(/models\[2\].arch must be one of qwen2, qwen3, llama, gemma2, gemma3/);
    expect(bad((r) => (r.models[0].weights[1].file = 'onnx/model.bin'))).toThrow(/models\[0\].weights\[1\].file must end in .onnx/);
    expect(bad((r) => (r.models[0].defaultWeights = 'fp32'))).toThrow(/defaultWeights must be one of the weights' dtypes \(q4, q4f16\)/);
    expect(bad((r) => (r.models[3].id = r.models[0].id))).toThrow(/models\[3\].id is listed twice/);
    expect(bad((r) => (r.models[0].id = 'no-slash'))).toThrow(/models\[0\].id must look like "owner\/name"/);
    expect(bad((r) => (r.defaultModel = 'x/y'))).toThrow(/defaultModel is not one of the listed model ids/);
    expect(bad((r) => delete r.models[4].dModel)).toThrow(/models\[4\].dModel must be a positive integer/);
    expect(() => getModel('nope/nope')).toThrow(/not in the registry/);
  });
});
