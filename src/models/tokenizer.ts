// Loads a Hugging Face tokenizer (tokenizer.json + tokenizer_config.json, plus a separately shipped chat template)
// from any file source (hub fetcher, OPFS cache, local folder in tests) and wraps transformers.js'
// PreTrainedTokenizer in the few calls the lab needs. The wrapper exists so that the rest of the code never
// touches transformers.js option names (add_special_tokens, return_tensor…) and gets one clear error per bad file.

import * as transformers from '@huggingface/transformers';
import { PreTrainedTokenizer } from '@huggingface/transformers';
import type { FileSource } from './file_source';

/** What the tokenizer reads files from: any FileSource (hub, cache, folder), of which it needs only `get`. */
export type TokenizerFiles = Pick<FileSource, 'get'>;

export type ChatRole = 'system' | 'user' | 'assistant';

/** One turn of a conversation: the datasets' rows, the chat panel's history and the chat template's input. */
export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface ChatTokenizer {
  /** token ids of plain text; addSpecial adds the model's BOS/EOS as its post-processor says (default false) */
  encode(text: string, opts?: { addSpecial?: boolean }): number[];
  decode(ids: ArrayLike<number>, opts?: { skipSpecial?: boolean }): string;
  /** the chat template rendered to text (what applyChatTemplate tokenises) */
  renderChatTemplate(messages: ChatMessage[], opts?: ChatTemplateOptions): string;
  /** the chat template rendered and tokenised without adding special tokens again (as HF apply_chat_template does) */
  applyChatTemplate(messages: ChatMessage[], opts?: ChatTemplateOptions): number[];
  /** every id that ends generation: the tokenizer's eos token plus generation_config.json's eos_token_id(s) */
  eosIds: number[];
  /** the tokenizer's pad token, else its eos token */
  padId: number;
  bosId: number | null;
  /** one past the largest id the tokenizer can produce (the model's embedding may have more rows) */
  vocabSize: number;
  hasChatTemplate: boolean;
  /** the underlying transformers.js tokenizer, for anything not wrapped here */
  raw: PreTrainedTokenizer;
}

export interface ChatTemplateOptions {
  addGenerationPrompt?: boolean;
  /** extra template variables, e.g. { enable_thinking: false } for Qwen3 */
  templateKwargs?: Record<string, unknown>;
}

async function readOptional(source: TokenizerFiles, path: string): Promise<Uint8Array | null> {
  try {
    return await source.get(path);
  } catch {
    return null;
  }
}

async function readRequired(source: TokenizerFiles, path: string): Promise<Uint8Array> {
  try {
    return await source.get(path);
  } catch (e) {
    throw new Error(`tokenizer: cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function parseJsonFile(bytes: Uint8Array, path: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`tokenizer: ${path} is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`tokenizer: ${path} must hold a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** eos_token_id in generation_config.json is a number or a list of numbers */
function idsFromField(v: unknown): number[] {
  if (typeof v === 'number' && Number.isInteger(v)) return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number' && Number.isInteger(x));
  return [];
}

/** transformers.js picks a subclass by tokenizer_class (LlamaTokenizer changes pre-tokenisation, for one); do the same */
function tokenizerClass(config: Record<string, unknown>): typeof PreTrainedTokenizer {
  const name = typeof config.tokenizer_class === 'string' ? config.tokenizer_class.replace(/Fast$/, '') : '';
  const cls = (transformers as unknown as Record<string, unknown>)[name];
  if (typeof cls === 'function' && (cls === PreTrainedTokenizer || cls.prototype instanceof PreTrainedTokenizer)) {
    return cls as typeof PreTrainedTokenizer;
  }
  return PreTrainedTokenizer;
}

export async function loadTokenizer(source: TokenizerFiles): Promise<ChatTokenizer> {
  const [tokBytes, cfgBytes] = await Promise.all([
    readRequired(source, 'tokenizer.json'),
    readRequired(source, 'tokenizer_config.json'),
  ]);
  const tokenizerJson = parseJsonFile(tokBytes, 'tokenizer.json');
  const config = parseJsonFile(cfgBytes, 'tokenizer_config.json');
  if (typeof tokenizerJson.model !== 'object' || tokenizerJson.model === null) {
    throw new Error('tokenizer: tokenizer.json has no "model" section (is it a Hugging Face tokenizers file?)');
  }

  // Newer hub repos ship the template beside tokenizer_config.json; like HF transformers, a separate file wins.
  const [jinja, templateJson, genCfgBytes] = await Promise.all([
    readOptional(source, 'chat_template.jinja'),
    readOptional(source, 'chat_template.json'),
    readOptional(source, 'generation_config.json'),
  ]);
  if (jinja) {
    config.chat_template = new TextDecoder().decode(jinja);
  } else if (templateJson) {
    const t = parseJsonFile(templateJson, 'chat_template.json').chat_template;
    if (typeof t !== 'string' && !Array.isArray(t)) {
      throw new Error('tokenizer: chat_template.json has no "chat_template" string');
    }
    config.chat_template = t;
  }

  let raw: PreTrainedTokenizer;
  try {
    const Cls = tokenizerClass(config);
    raw = new Cls(tokenizerJson, config);
  } catch (e) {
    throw new Error(`tokenizer: cannot build the tokenizer from tokenizer.json (${e instanceof Error ? e.message : String(e)})`);
  }

  const eos = new Set<number>();
  if (typeof raw.eos_token_id === 'number') eos.add(raw.eos_token_id);
  if (genCfgBytes) {
    // generation_config.json is optional and only adds stop ids; a broken one is reported, not ignored
    for (const id of idsFromField(parseJsonFile(genCfgBytes, 'generation_config.json').eos_token_id)) eos.add(id);
  }
  const padId = typeof raw.pad_token_id === 'number' ? raw.pad_token_id : typeof raw.eos_token_id === 'number' ? raw.eos_token_id : null;
  if (padId === null) {
    throw new Error('tokenizer: tokenizer_config.json names neither a pad_token nor an eos_token found in tokenizer.json');
  }

  let maxId = -1;
  for (const id of raw.get_vocab().values()) if (id > maxId) maxId = id;

  const hasChatTemplate = config.chat_template !== undefined && config.chat_template !== null;

  const render = (messages: ChatMessage[], opts: ChatTemplateOptions = {}): string => {
    if (!hasChatTemplate) {
      throw new Error('tokenizer: no chat template (tokenizer_config.json has no chat_template and there is no chat_template.jinja/.json)');
    }
    return raw.apply_chat_template(messages, {
      tokenize: false,
      add_generation_prompt: opts.addGenerationPrompt ?? false,
      ...(opts.templateKwargs ?? {}),
    }) as string;
  };

  return {
    encode: (text, opts = {}) => raw.encode(text, { add_special_tokens: opts.addSpecial ?? false }),
    decode: (ids, opts = {}) =>
      ids.length === 0 ? '' : raw.decode(Array.from(ids), { skip_special_tokens: opts.skipSpecial ?? false }),
    renderChatTemplate: render,
    // HF apply_chat_template tokenises the rendered text with add_special_tokens=False: the template already
    // writes BOS where the model wants it (Gemma), so adding it again would double it.
    applyChatTemplate: (messages, opts = {}) => raw.encode(render(messages, opts), { add_special_tokens: false }),
    eosIds: [...eos],
    padId,
    bosId: typeof raw.bos_token_id === 'number' ? raw.bos_token_id : null,
    vocabSize: maxId + 1,
    hasChatTemplate,
    raw,
  };
}

/** A FileSource over an in-memory map (tests, files the user dropped into the page). */
export function mapFileSource(files: Record<string, Uint8Array>, where = 'file map'): FileSource {
  return {
    id: where,
    async get(path) {
      const f = files[path];
      if (!f) throw new Error(`${path} not found in ${where}`);
      return f;
    },
    has: async (path) => path in files,
  };
}
