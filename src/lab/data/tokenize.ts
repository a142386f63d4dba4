// Chat rows → token ids + label mask, with the label rule of ../shared/reference/README.md:
//   prompt_ids = template(turns before the last assistant turn, add_generation_prompt = true)
//   full_ids   = template(turns up to and including the last assistant turn)
//   labels     = positions >= len(prompt_ids)            ("assistant", the paper's LoRA runs)
//             or every non-pad position                  ("all", what the released steering trainer did)
// full_ids normally starts with prompt_ids; when a template breaks that (some templates rewrite earlier turns
// once an answer follows), the longest common prefix is used as the prompt and the row is counted.

import type { ChatTokenizer } from '../../models/tokenizer';
import type { ChatMessage, ChatRow } from './chat';

export type LabelMode = 'assistant' | 'all';

export interface TokenizeOptions {
  labels?: LabelMode;
  /** truncate every row to this many tokens (default 256, SCIENCE.md) */
  maxLen?: number;
  /** extra chat-template variables (e.g. { enable_thinking: false }) */
  templateKwargs?: Record<string, unknown>;
}

export interface TokenizedRow {
  /** source line in the JSONL file */
  line: number;
  ids: Int32Array;
  /** 1 where the token is a label (its logit at t−1 is trained to predict it) */
  lossMask: Uint8Array;
  /** tokens before the answer (after the prefix fallback, before truncation) */
  promptLen: number;
  /** full length before truncation */
  fullLen: number;
  prefixFallback: boolean;
}

export interface TokenizedDataset {
  rows: TokenizedRow[];
  /** rows whose full_ids did not start with prompt_ids (longest common prefix used) */
  prefixFallbacks: number;
  /** rows cut to maxLen (kept, if labels remained) */
  truncated: number;
  /** line numbers of rows skipped because truncation left no label */
  skippedNoLabels: number[];
}

type TemplateTokenizer = Pick<ChatTokenizer, 'applyChatTemplate'>;

function lastAssistantIndex(messages: ChatMessage[]): number {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]!.role === 'assistant') return i;
  return -1;
}

/** Tokenises one conversation; null when no label position survives truncation. */
export function tokenizeChatRow(tok: TemplateTokenizer, row: ChatRow, opts: TokenizeOptions = {}): TokenizedRow | null {
  const maxLen = opts.maxLen ?? 256;
  const mode = opts.labels ?? 'assistant';
  if (!Number.isInteger(maxLen) || maxLen < 2) throw new Error(`tokenize: maxLen must be an integer >= 2, got ${maxLen}`);
  const k = lastAssistantIndex(row.messages);
  if (k < 0) throw new Error(`tokenize: line ${row.line} has no assistant turn`);
  // Turns after the last answer have nothing to learn from; they are dropped rather than trained on as "answer".
  const conv = row.messages.slice(0, k + 1);
  const kw = opts.templateKwargs ? { templateKwargs: opts.templateKwargs } : {};
  const full = tok.applyChatTemplate(conv, kw);
  const prompt = tok.applyChatTemplate(conv.slice(0, k), { addGenerationPrompt: true, ...kw });

  let promptLen = prompt.length;
  let prefixFallback = false;
  for (let i = 0; i < prompt.length; i++) {
    if (i >= full.length || full[i] !== prompt[i]) {
      promptLen = i;
      prefixFallback = true;
      break;
    }
  }

  const T = Math.min(full.length, maxLen);
  const ids = Int32Array.from(full.slice(0, T));
  const lossMask = new Uint8Array(T);
  let usable = 0;
  for (let t = 0; t < T; t++) {
    const label = mode === 'all' || t >= promptLen;
    if (label) {
      lossMask[t] = 1;
      // position 0 has no preceding logit, so it never contributes to the loss
      if (t >= 1) usable++;
    }
  }
  if (usable === 0) return null;
  return { line: row.line, ids, lossMask, promptLen, fullLen: full.length, prefixFallback };
}

export function tokenizeRows(
  tok: TemplateTokenizer,
  rows: ChatRow[],
  opts: TokenizeOptions & { onProgress?: (done: number, total: number) => void } = {},
): TokenizedDataset {
  const out: TokenizedDataset = { rows: [], prefixFallbacks: 0, truncated: 0, skippedNoLabels: [] };
  const maxLen = opts.maxLen ?? 256;
  for (let i = 0; i < rows.length; i++) {
    const r = tokenizeChatRow(tok, rows[i]!, opts);
    if (r === null) {
      out.skippedNoLabels.push(rows[i]!.line);
    } else {
      out.rows.push(r);
      if (r.prefixFallback) out.prefixFallbacks++;
      if (r.fullLen > maxLen) out.truncated++;
    }
    if (opts.onProgress && ((i + 1) % 100 === 0 || i + 1 === rows.length)) opts.onProgress(i + 1, rows.length);
  }
  return out;
}
