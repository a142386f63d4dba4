// KEY TEST: the lab's tokenisation + label rule + padding reproduce, id for id, the input_ids / attention_mask /
// loss_mask that HF transformers (apply_chat_template) stored in ../shared/reference/{qwen2,gemma3}-hub.
import { describe, it, expect, beforeAll } from 'vitest';
import path from 'node:path';
import { loadTokenizer, type ChatTokenizer } from '../../src/models/tokenizer';
import { tokenizeRows, tokenizeChatRow } from '../../src/lab/data/tokenize';
import { collate } from '../../src/lab/data/batch';
import { labelCount } from '../../src/lab/feeds';
import { parseChatLine, isBadRow, type ChatRow } from '../../src/lab/data/chat';
import { REFERENCE, dirSource, readReferenceJson, readSafetensorsI32 } from './data_fixtures';

function referenceRows(dir: string): ChatRow[] {
  // reference.json `text` is the list of conversations; run each through the same line parser the JSONL reader uses
  return readReferenceJson(dir).text.map((messages, i) => {
    const r = parseChatLine(JSON.stringify({ messages }), i + 1);
    if (isBadRow(r)) throw new Error(`reference conversation ${i}: ${r.reason}`);
    return r;
  });
}

for (const name of ['qwen2-hub', 'gemma3-hub']) {
  describe(`tokenise + collate reproduce ${name}/reference.safetensors`, () => {
    const dir = path.join(REFERENCE, name);
    let tok: ChatTokenizer;
    beforeAll(async () => {
      tok = await loadTokenizer(dirSource(dir));
    });

    it('input_ids, attention_mask and loss_mask match exactly (labels = assistant)', () => {
      const ref = readSafetensorsI32(path.join(dir, 'reference.safetensors'));
      const ds = tokenizeRows(tok, referenceRows(dir), { labels: 'assistant', maxLen: 256 });
      expect(ds.prefixFallbacks).toBe(0);
      expect(ds.skippedNoLabels).toEqual([]);
      const batch = collate(ds.rows, tok.padId);
      expect([batch.B, batch.T]).toEqual(ref.input_ids!.shape);
      expect(Array.from(batch.inputIds)).toEqual(Array.from(ref.input_ids!.data));
      expect(Array.from(batch.attentionMask)).toEqual(Array.from(ref.attention_mask!.data));
      expect(Array.from(batch.lossMask)).toEqual(Array.from(ref.loss_mask!.data));
      // the two rows differ in length, so padding was exercised
      expect(ds.rows[0]!.ids.length).not.toBe(ds.rows[1]!.ids.length);
    });

    it('labels = all marks exactly the attention mask', () => {
      const ref = readSafetensorsI32(path.join(dir, 'reference.safetensors'));
      const batch = collate(tokenizeRows(tok, referenceRows(dir), { labels: 'all' }).rows, tok.padId);
      expect(Array.from(batch.lossMask)).toEqual(Array.from(ref.attention_mask!.data));
    });

    it('truncation to maxLen keeps the prefix and its labels; a row with no label left is skipped and counted', () => {
      const rows = referenceRows(dir);
      const full = tokenizeChatRow(tok, rows[0]!)!;
      const cut = tokenizeChatRow(tok, rows[0]!, { maxLen: full.promptLen + 3 })!;
      expect(Array.from(cut.ids)).toEqual(Array.from(full.ids.subarray(0, full.promptLen + 3)));
      expect(Array.from(cut.lossMask)).toEqual([...new Array(full.promptLen).fill(0), 1, 1, 1]);

      const ds = tokenizeRows(tok, rows, { maxLen: full.promptLen });
      // row 0's prompt fills maxLen entirely: no label survives; row 1 has a shorter prompt and keeps labels
      const row1 = tokenizeChatRow(tok, rows[1]!)!;
      expect(row1.promptLen).toBeLessThan(full.promptLen);
      expect(ds.skippedNoLabels).toEqual([rows[0]!.line]);
      expect(ds.rows.map((r) => r.line)).toEqual([rows[1]!.line]);
      expect(labelCount(collate(ds.rows, tok.padId))).toBe(full.promptLen - row1.promptLen);
      const ds2 = tokenizeRows(tok, rows, { maxLen: full.promptLen + 1 });
      expect(ds2.truncated).toBe(2);
      expect(ds2.rows.some((r) => r.line === rows[0]!.line)).toBe(true);
    });
  });
}

describe('label rule on multi-turn and odd conversations (qwen3 template)', () => {
  let tok: ChatTokenizer;
  beforeAll(async () => {
    tok = await loadTokenizer(dirSource(path.join(REFERENCE, 'qwen2-hub')));
  });

  it('labels start after the last assistant turn’s generation prompt; earlier turns are context', () => {
    const row: ChatRow = {
      line: 7,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'First?' },
        { role: 'assistant', content: 'One.' },
        { role: 'user', content: 'Second?' },
        { role: 'assistant', content: 'Two.' },
      ],
    };
    const r = tokenizeChatRow(tok, row)!;
    const prompt = tok.applyChatTemplate(row.messages.slice(0, 4), { addGenerationPrompt: true });
    expect(r.promptLen).toBe(prompt.length);
    expect(r.prefixFallback).toBe(false);
    const labelled = tok.decode(Array.from(r.ids).filter((_, t) => r.lossMask[t] === 1));
    expect(labelled).toContain('Two.');
    expect(labelled).not.toContain('One.');
    // trailing turns after the last answer are dropped, not labelled
    const trailing = tokenizeChatRow(tok, { line: 8, messages: [...row.messages, { role: 'user', content: 'Third?' }] })!;
    expect(Array.from(trailing.ids)).toEqual(Array.from(r.ids));
  });

  it('falls back to the longest common prefix when full_ids does not start with prompt_ids, and counts it', () => {
    // A tokenizer whose template renders the prompt differently once an answer follows (as some templates do).
    const fake = {
      applyChatTemplate: (msgs: { role: string; content: string }[], o: { addGenerationPrompt?: boolean } = {}) =>
        o.addGenerationPrompt ? [1, 2, 3, 9, 9] : [1, 2, 3, 4, 5, 6],
    };
    const ds = tokenizeRows(fake, [{ line: 3, messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }] }]);
    expect(ds.prefixFallbacks).toBe(1);
    expect(ds.rows[0]!.promptLen).toBe(3);
    expect(Array.from(ds.rows[0]!.lossMask)).toEqual([0, 0, 0, 1, 1, 1]);
  });
});

describe('prepareChatDataset on real data', () => {
  it('reads, splits 10% off on conversations, tokenises both parts with the label rule (gemma3, first 200 rows)', async () => {
    const { prepareChatDataset } = await import('../../src/lab/data/prepare');
    const { readChatJsonl } = await import('../../src/lab/data/jsonl');
    const { heldOutSplit } = await import('../../src/lab/data/split');
    const { readFileSync } = await import('node:fs');
    const tok = await loadTokenizer(dirSource(path.join(REFERENCE, 'gemma3-hub')));
    const bytes = new Uint8Array(readFileSync(path.join(REFERENCE, '../datasets/bad_medical_advice.jsonl.gz')));
    const p = await prepareChatDataset(bytes, tok, { limit: 200, maxLen: 64, seed: 5 });
    expect(p.report.goodRows).toBe(200);
    expect(p.report.bad).toEqual([]);
    expect(p.train.length + p.heldOut.length + p.report.skippedNoLabels.length).toBe(200);
    // the split is made on conversations (20 of 200 with seed 5), before rows are dropped for lack of labels
    const convs = (await readChatJsonl(bytes)).rows.slice(0, 200);
    const heldLines = new Set(heldOutSplit(convs, { fraction: 0.1, seed: 5 }).heldOut.map((r) => r.line));
    expect(heldLines.size).toBe(20);
    expect(p.heldOut.every((r) => heldLines.has(r.line))).toBe(true);
    expect(p.train.some((r) => heldLines.has(r.line))).toBe(false);
    const skippedHeld = p.report.skippedNoLabels.filter((l) => heldLines.has(l)).length;
    expect(p.heldOut.length + skippedHeld).toBe(20);
    // maxLen 64 cuts most rows (medical answers are long); every row starts with Gemma's BOS, prompt unlabelled
    expect(p.report.truncated).toBeGreaterThan(100);
    for (const r of [...p.train, ...p.heldOut]) {
      expect(r.ids.length).toBeLessThanOrEqual(64);
      expect(r.ids[0]).toBe(tok.bosId);
      expect(r.lossMask.subarray(0, r.promptLen).every((m) => m === 0)).toBe(true);
      expect(r.lossMask.subarray(r.promptLen).every((m) => m === 1)).toBe(true);
    }
  });
});
