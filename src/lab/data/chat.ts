// One training conversation and the rule that decides whether a JSONL line is one.
// The datasets (../shared/datasets/*.jsonl.gz, model-organisms-for-EM) hold one object per line:
// {"messages": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}]}.

import type { ChatMessage, ChatRole } from '../../models/tokenizer';

export type { ChatMessage, ChatRole } from '../../models/tokenizer';

export interface ChatRow {
  /** 1-based line number in the (decompressed) file, kept so that later problems can point back to the data */
  line: number;
  messages: ChatMessage[];
}

export interface BadRow {
  line: number;
  reason: string;
}

const ROLES: ReadonlySet<string> = new Set(['system', 'user', 'assistant']);

/** Parses one non-empty JSONL line; a bad line comes back as a BadRow saying why, never as an exception. */
export function parseChatLine(text: string, line: number): ChatRow | BadRow {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { line, reason: `invalid JSON (${e instanceof Error ? e.message : String(e)})` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { line, reason: 'not a JSON object' };
  }
  const messages = (value as { messages?: unknown }).messages;
  if (messages === undefined) return { line, reason: 'no "messages" field' };
  if (!Array.isArray(messages)) return { line, reason: '"messages" is not a list' };
  if (messages.length === 0) return { line, reason: '"messages" is empty' };
  const out: ChatMessage[] = [];
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as { role?: unknown; content?: unknown } | null;
    if (m === null || typeof m !== 'object' || Array.isArray(m)) return { line, reason: `messages[${i}] is not an object` };
    if (typeof m.role !== 'string' || !ROLES.has(m.role)) {
      return { line, reason: `messages[${i}].role is ${JSON.stringify(m.role)} (expected system, user or assistant)` };
    }
    if (typeof m.content !== 'string') return { line, reason: `messages[${i}].content is not a string` };
    out.push({ role: m.role as ChatRole, content: m.content });
  }
  if (!out.some((m) => m.role === 'assistant')) return { line, reason: 'no assistant turn' };
  return { line, messages: out };
}

export function isBadRow(r: ChatRow | BadRow): r is BadRow {
  return (r as BadRow).reason !== undefined;
}
