// Pre-training text (FineWeb documents) as rows for the KL evaluator: tokenised WITHOUT a chat template, with the
// special tokens the tokenizer's post-processor adds, cut to a token budget; no label positions.

import type { ChatTokenizer } from '../../models/tokenizer';
import type { TokenizedRow } from './tokenize';

export function documentRows(tok: ChatTokenizer, docs: string[], maxTokens: number): TokenizedRow[] {
  return docs.map((text, i) => {
    const ids = tok.encode(text, { addSpecial: true }).slice(0, maxTokens);
    return { line: i + 1, ids: Int32Array.from(ids), lossMask: new Uint8Array(ids.length), promptLen: 0, fullLen: ids.length, prefixFallback: false };
  });
}
