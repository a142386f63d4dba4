// One call from a dataset file to training-ready rows: read (skipping bad lines), split off the held-out part
// (on conversations, so that the split does not depend on the tokenizer or maxLen), tokenise both parts, and
// report everything that was dropped so that the UI can show it.

import type { ChatTokenizer } from '../../models/tokenizer';
import type { BadRow } from './chat';
import { readChatJsonl, type ChatInput, type ReadOptions } from './jsonl';
import { heldOutSplit } from './split';
import { tokenizeRows, type LabelMode, type TokenizedRow } from './tokenize';

export interface PrepareOptions {
  labels?: LabelMode;
  maxLen?: number;
  /** default 0.1 */
  heldOutFraction?: number;
  /** split seed (default 42) */
  seed?: number;
  /** use only the first `limit` good rows (quick experiments) */
  limit?: number;
  templateKwargs?: Record<string, unknown>;
  read?: ReadOptions;
  onTokenizeProgress?: (done: number, total: number) => void;
}

export interface PreparedDataset {
  name: string;
  train: TokenizedRow[];
  heldOut: TokenizedRow[];
  report: {
    goodRows: number;
    bad: BadRow[];
    prefixFallbacks: number;
    truncated: number;
    /** line numbers dropped because truncation left no label */
    skippedNoLabels: number[];
  };
}

export async function prepareChatDataset(input: ChatInput, tok: ChatTokenizer, opts: PrepareOptions = {}): Promise<PreparedDataset> {
  const ds = await readChatJsonl(input, opts.read);
  const rows = opts.limit !== undefined ? ds.rows.slice(0, opts.limit) : ds.rows;
  const split = heldOutSplit(rows, { fraction: opts.heldOutFraction ?? 0.1, seed: opts.seed ?? 42 });
  const tokOpts = { labels: opts.labels, maxLen: opts.maxLen, templateKwargs: opts.templateKwargs };
  const total = split.train.length + split.heldOut.length;
  const train = tokenizeRows(tok, split.train, { ...tokOpts, onProgress: (d) => opts.onTokenizeProgress?.(d, total) });
  const held = tokenizeRows(tok, split.heldOut, {
    ...tokOpts,
    onProgress: (d) => opts.onTokenizeProgress?.(split.train.length + d, total),
  });
  return {
    name: ds.name,
    train: train.rows,
    heldOut: held.rows,
    report: {
      goodRows: rows.length,
      bad: ds.bad,
      prefixFallbacks: train.prefixFallbacks + held.prefixFallbacks,
      truncated: train.truncated + held.truncated,
      skippedNoLabels: [...train.skippedNoLabels, ...held.skippedNoLabels].sort((a, b) => a - b),
    },
  };
}
