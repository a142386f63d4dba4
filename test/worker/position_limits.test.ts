// Sequences longer than the model's rope table are refused by the jobs before any graph runs, with a message
// that says how many tokens fit: the real generate job on the real qwen2 fixture (max_position_embeddings 256).

import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/engine/runtime/backend';
import { checkGenerationFits, checkSequenceFits } from '../../src/lab/positions';
import { dirSource } from '../../src/models/file_source';
import { loadModel } from '../../src/models/load';
import { LoadedModel } from '../../src/models/model';
import type { ChatTokenizer } from '../../src/models/tokenizer';
import type { JobContext } from '../../src/worker/jobs/context';
import { generateJob } from '../../src/worker/jobs/generate';
import type { ModelInfo } from '../../src/worker/protocol';
import { WorkerSession } from '../../src/worker/session';

const REF = path.resolve(__dirname, '../../../shared/reference/qwen2');
let session: WorkerSession;
let promptLen = 0;

/** a tokenizer whose chat template renders to `promptLen` tokens of id 1 (the fixture has no tokenizer files) */
const fakeTok = {
  hasChatTemplate: true,
  applyChatTemplate: () => new Array<number>(promptLen).fill(1),
  decode: () => '',
  eosIds: [],
  padId: 0,
} as unknown as ChatTokenizer;

beforeAll(async () => {
  const files = await loadModel(dirSource(REF));
  const model = LoadedModel.create(await createBackend({ prefer: 'wasm' }), files.config, files.weights, files.format);
  session = new WorkerSession();
  await session.setModel(model, fakeTok, { repo: 'test/qwen2', layers: files.config.numLayers, dModel: files.config.hiddenSize } as ModelInfo);
});

function ctx(): JobContext<'generate'> {
  return { session, signal: new AbortController().signal, progress: () => {}, phase: () => {} };
}

const req = (maxNewTokens: number) => ({ messages: [{ role: 'user' as const, content: 'hi' }], strength: 0, maxNewTokens, temperature: 0, topP: 1, seed: 0, samples: 1 });

describe('rope table limits', () => {
  it('the fixture model has a 256-position table', () => {
    expect(session.model!.ropePositions).toBe(256);
  });

  it('the generate job refuses prompt + new tokens beyond the table, saying how many fit', async () => {
    promptLen = 250;
    await expect(generateJob(req(10), ctx())).rejects.toThrow(
      'the prompt is 250 tokens and 10 new tokens were asked for, 260 positions in all, but this model\'s position table holds 256: ask for at most 6 new tokens (Max new tokens)',
    );
    promptLen = 300;
    await expect(generateJob(req(1), ctx())).rejects.toThrow(/holds 256: shorten the conversation$/);
  });

  it('a prompt that fits generates', async () => {
    promptLen = 250;
    const r = await generateJob(req(6), ctx());
    expect(r.tokens).toEqual([6]);
  });

  it('a vector made for another model of the same width is refused by the job', async () => {
    promptLen = 4;
    const v = { data: new Float32Array(session.model!.config.hiddenSize), alpha: 1, layer: 1, modelId: 'test/gemma2' };
    await expect(generateJob({ ...req(1), vector: v }, ctx())).rejects.toThrow('this vector does not fit the loaded model: it was made for test/gemma2, and the loaded model is test/qwen2');
    const r = await generateJob({ ...req(1), vector: { ...v, modelId: 'test/qwen2' } }, ctx());
    expect(r.tokens).toEqual([1]);
  });

  it('sequence limits name the setting', () => {
    expect(() => checkSequenceFits(256, 512, 'Max tokens (per row)')).toThrow("Max tokens (per row) is 512 tokens, but this model's position table holds 256: use at most 256");
    expect(() => checkSequenceFits(256, 256, 'x')).not.toThrow();
    expect(() => checkGenerationFits(256, 200, 56)).not.toThrow();
  });
});
