// Verification tool: the lab's tokenisation of a reference folder's conversations (reference.json `text`), for
// the PyTorch reference check (models/verify_pytorch_reference.ts): the folder's own tokenizer and chat template, the lab's label rule, right padding with the pad id.

import { loadTokenizer, type TokenizerFiles } from '../models/tokenizer';
import { collate } from './data/batch';
import type { ChatMessage } from './data/chat';
import { tokenizeChatRow } from './data/tokenize';

export async function tokenizeReferenceText(files: TokenizerFiles, conversations: unknown) {
  if (!Array.isArray(conversations)) throw new Error('reference.json `text` must be a list of conversations');
  const tok = await loadTokenizer(files);
  const rows = conversations.map((messages, i) => {
    const row = tokenizeChatRow(tok, { line: i + 1, messages: messages as ChatMessage[] }, { maxLen: 1 << 20 });
    if (!row) throw new Error(`reference conversation ${i} has no label positions`);
    return row;
  });
  return collate(rows, tok.padId);
}
