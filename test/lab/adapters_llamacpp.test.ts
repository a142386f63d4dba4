// llama.cpp: the GGUF LoRA files in test/fixtures/lora/llamacpp were made by llama.cpp's own
// convert_lora_to_gguf.py from the adapters our exporter writes (scripts/lora/llamacpp/convert.sh). Here the same
// adapters are exported again and read beside those files with @huggingface/gguf: every PEFT tensor must arrive
// under llama.cpp's name for that module and block, in PEFT's [r, in] / [out, r] layout, with the same values, and
// the adapter metadata must carry our α. A change to the exporter's names, layout or config breaks this test.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gguf } from '@huggingface/gguf';
import { describe, expect, it } from 'vitest';
import { parseHfConfig } from '../../src/models/config_parse';
import { parseSafetensorsHeader } from '../../src/models/safetensors';
import { exportPeft } from '../../src/lab/adapters/peft';
import { REF } from '../models/adapter_fixture';
import { exportCheckAdapters } from './adapters_export_cases';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/lora/llamacpp');
// HF module path → llama.cpp's tensor name (gguf-py tensor_mapping, Llama-family blocks)
const LLAMA_NAME: Record<string, string> = {
  'self_attn.q_proj': 'attn_q', 'self_attn.k_proj': 'attn_k', 'self_attn.v_proj': 'attn_v', 'self_attn.o_proj': 'attn_output',
  'mlp.gate_proj': 'ffn_gate', 'mlp.up_proj': 'ffn_up', 'mlp.down_proj': 'ffn_down',
};

describe('PEFT export → llama.cpp convert_lora_to_gguf.py', () => {
  for (const arch of ['qwen2', 'gemma2']) {
    const cfg = parseHfConfig(JSON.parse(readFileSync(path.join(REF, arch, 'config.json'), 'utf8')));
    for (const [name, a] of Object.entries(exportCheckAdapters(cfg))) {
      it(`${arch} ${name}: every tensor under llama.cpp's name with our values and α`, async () => {
        const file = path.join(FIXTURES, `${arch}-${name}.gguf`);
        const g = await gguf(file, { allowLocalFile: true });
        const md = g.metadata as unknown as Record<string, unknown>;
        expect(md['general.type']).toBe('adapter');
        expect(md['adapter.type']).toBe('lora');
        expect(md['general.architecture']).toBe(arch);
        expect(md['adapter.lora.alpha']).toBe(a.alpha);

        const bytes = readFileSync(file);
        const theirs = new Map(g.tensorInfos.map((t) => {
          const start = bytes.byteOffset + Number(g.tensorDataOffset + t.offset);
          const n = t.shape.reduce((p, d) => p * Number(d), 1);
          // GGUF lists dimensions innermost first
          return [t.name, { shape: t.shape.map(Number).reverse(), type: t.dtype, data: new Float32Array(bytes.buffer.slice(start, start + 4 * n)) }];
        }));

        const f = exportPeft(a, cfg, `steerlab-tiny-${arch}`);
        const h = parseSafetensorsHeader(f.weights);
        expect(theirs.size).toBe(h.tensors.size);
        for (const [peftName, t] of h.tensors) {
          const m = /^base_model\.model\.model\.layers\.(\d+)\.(.+)\.lora_([AB])\.weight$/.exec(peftName);
          expect(m, peftName).not.toBeNull();
          const llama = `blk.${m![1]}.${LLAMA_NAME[m![2]!]}.weight.lora_${m![3]!.toLowerCase()}`;
          const got = theirs.get(llama);
          expect(got, `${llama} (from ${peftName})`).toBeDefined();
          expect(got!.type).toBe(0); // GGML F32
          expect(got!.shape).toEqual(t.shape);
          const ours = new Float32Array(f.weights.slice(t.start, t.end).buffer);
          expect(Array.from(got!.data)).toEqual(Array.from(ours));
        }
      });
    }
  }
});
