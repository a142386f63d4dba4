// Our LoRA graphs equal PyTorch + PEFT (test/fixtures/lora, made on the GPU box by
// scripts/lora/make_lora_reference.py): for tiny qwen2 and gemma2 models with LoRA on two module kinds
// ("two": rank 2, v_proj + down_proj of blocks 1–2), on every linear module of every block ("all") and rank 1 on
// one down_proj ("r1down"), with fixed non-zero factors read from PEFT's own adapter_model.safetensors through our
// importer: CE, KL(p_chat ‖ p_lora) with p_chat = adapters disabled, and total = CE + λ·KL within 1e-5 relative,
// and their gradients w.r.t. every lora_A and lora_B with cosine ≥ 0.99999. PEFT's fresh initialisation has the
// bound our peftInit uses (U(−1/√in, 1/√in), B = 0).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CompiledGraph } from '../../src/engine/runtime/session';
import { buildAdapterGraph } from '../../src/models/adapter_graph';
import { readSafetensorsRaw } from '../../src/models/safetensors';
import { factors, flatGrad, loraFeeds, loraLayout, loraSpec, peftInit } from '../../src/lab/adapters/lora';
import { importPeft, peftTensorName } from '../../src/lab/adapters/peft';
import { cosine, hasLoraFixtures, LORA_FIXTURES, referenceFeeds, tinyModel } from './adapter_fixture';

const CASES = ['two', 'all', 'r1down'];
const scalar = (x: number) => ({ dtype: 'float32' as const, shape: [], data: new Float32Array([x]) });

describe.skipIf(!hasLoraFixtures())('LoRA vs PyTorch + PEFT', () => {
  for (const arch of ['qwen2', 'gemma2']) {
    it(`${arch}: CE, KL, total and every factor's gradients match`, async () => {
      const model = await tinyModel(arch);
      const { feeds } = referenceFeeds(arch);
      for (const c of CASES) {
        const dir = path.join(LORA_FIXTURES, arch, c);
        const rj = JSON.parse(readFileSync(path.join(dir, 'reference.json'), 'utf8'));
        const a = importPeft({ weights: new Uint8Array(readFileSync(path.join(dir, 'adapter/adapter_model.safetensors'))), config: readFileSync(path.join(dir, 'adapter/adapter_config.json'), 'utf8') }, model.config);
        expect(a.rank).toBe(rj.r);
        expect(a.alpha).toBe(rj.lora_alpha);
        expect(a.keys.length * 2).toBe(rj.tensors.length);
        const g = await CompiledGraph.create(model.store.backend, buildAdapterGraph(model, { lora: loraSpec(a), kl: true, grads: ['ce', 'kl', 'total'] }).graph, model.store);
        const o = await g.run({ ...feeds, ...loraFeeds(model.config, a, a.data), lambda: scalar(rj.lambda_kl) });
        for (const k of ['ce', 'kl', 'total'] as const) {
          const rel = Math.abs((o[k]!.data[0] as number) - rj[k]) / Math.abs(rj[k]);
          expect(rel, `${arch}/${c} ${k}: ours ${o[k]!.data[0]} PEFT ${rj[k]}`).toBeLessThanOrEqual(1e-5);
        }
        expect(rj.kl).toBeGreaterThan(1e-3); // the adapter really moves the distribution
        const ref = readSafetensorsRaw(new Uint8Array(readFileSync(path.join(dir, 'reference.safetensors'))));
        const { entries } = loraLayout(model.config, a);
        for (const which of ['ce', 'kl', 'total'] as const) {
          const ours = flatGrad(model.config, a, o, which);
          const theirs = new Float32Array(ours.length);
          for (const e of entries) {
            for (const part of ['A', 'B'] as const) {
              const t = ref.get(`grad_${which}/${peftTensorName(e.key, part)}`);
              expect(t, `${arch}/${c} grad_${which} of ${peftTensorName(e.key, part)}`).toBeDefined();
              theirs.set(t!.data as Float32Array, part === 'A' ? e.aOff : e.bOff);
            }
          }
          const cos = cosine(ours, theirs);
          expect(cos, `${arch}/${c} grad_${which} cosine`).toBeGreaterThanOrEqual(0.99999);
          // each factor on its own points the same way too
          for (const e of entries) {
            const mine = factors(ours, e, a.rank);
            const ref2 = factors(theirs, e, a.rank);
            expect(cosine(mine.A, ref2.A), `${arch}/${c} grad_${which} ${e.key}.A`).toBeGreaterThanOrEqual(0.9999);
            expect(cosine(mine.B, ref2.B), `${arch}/${c} grad_${which} ${e.key}.B`).toBeGreaterThanOrEqual(0.9999);
          }
        }
        await g.release();
      }
      model.store.dispose();
    });
  }

  it("PEFT's initialisation has the bound and zeros peftInit uses", async () => {
    const model = await tinyModel('qwen2');
    const dir = path.join(LORA_FIXTURES, 'qwen2', 'all');
    const init = readSafetensorsRaw(new Uint8Array(readFileSync(path.join(dir, 'init.safetensors'))));
    const a = importPeft({ weights: new Uint8Array(readFileSync(path.join(dir, 'adapter/adapter_model.safetensors'))), config: readFileSync(path.join(dir, 'adapter/adapter_config.json'), 'utf8') }, model.config);
    const ours = peftInit(model.config, a, 3);
    const sd = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
    for (const e of loraLayout(model.config, a).entries) {
      const bound = 1 / Math.sqrt(e.K);
      const theirA = init.get(peftTensorName(e.key, 'A'))!.data as Float32Array;
      const theirB = init.get(peftTensorName(e.key, 'B'))!.data as Float32Array;
      const mine = factors(ours, e, a.rank);
      expect(theirB.every((x) => x === 0)).toBe(true);
      expect(mine.B.every((x) => x === 0)).toBe(true);
      for (const A of [theirA, mine.A]) {
        expect(Math.max(...A.map(Math.abs))).toBeLessThanOrEqual(bound);
        expect(Math.max(...A.map(Math.abs))).toBeGreaterThan(0.9 * bound);
        expect(sd(A) / (bound / Math.sqrt(3))).toBeGreaterThan(0.8);
        expect(sd(A) / (bound / Math.sqrt(3))).toBeLessThan(1.2);
      }
    }
    model.store.dispose();
  });
});
