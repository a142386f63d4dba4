// The engine equals PyTorch: every folder of ../shared/reference through runReference (wasm EP), and the CLI's
// contract (one JSON line, exit status) on one folder and on a broken one.

import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile, access } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createBackend } from '../../src/engine/runtime/backend';
import { runReference, TOLERANCE, toleranceFor, type ReferenceFiles } from '../../src/models/verify_pytorch_reference';
import { tokenizeReferenceText } from '../../src/lab/verify_reference_tokenize';
import { trainStepCheck } from '../../src/lab/train/verify_step';

const REF = path.resolve(__dirname, '../../../shared/reference');
const FOLDERS = ['qwen2', 'qwen3', 'llama', 'gemma2', 'gemma3', 'qwen2-hub', 'gemma3-hub'];

function dirFiles(dir: string): ReferenceFiles {
  return {
    get: async (p) => new Uint8Array(await readFile(path.join(dir, p))),
    has: (p) => access(path.join(dir, p)).then(() => true, () => false),
  };
}

describe('reference folders (PyTorch) on the wasm EP', () => {
  for (const name of FOLDERS) {
    it(`${name} matches`, async () => {
      const be = await createBackend({ prefer: 'wasm' });
      // the trainer's step with the captured route's fixed-shape feeds (padding rows and label rows), uncaptured
      const r = await runReference(dirFiles(path.join(REF, name)), be, { tokenize: tokenizeReferenceText, trainStep: trainStepCheck({ padded: true }) });
      expect(toleranceFor(be)).toBe(TOLERANCE.float64);
      expect(r.failures).toEqual([]);
      expect(r.step_route).toBe('padded');
      expect(r.step_grad_cos).toBeGreaterThanOrEqual(TOLERANCE.float64.gradCos);
      expect(r.logits_rel_err).toBeLessThanOrEqual(TOLERANCE.float64.logits);
      expect(r.hidden_rel_err).toBeLessThanOrEqual(TOLERANCE.float64.hidden);
      expect(r.loss_rel_err).toBeLessThanOrEqual(TOLERANCE.float64.loss);
      expect(r.grad_cos_min).toBeGreaterThanOrEqual(TOLERANCE.float64.gradCos);
      expect(r.grad_rel_err).toBeLessThanOrEqual(TOLERANCE.float64.gradRel);
      if (name.endsWith('-hub')) expect(r.tokenization_exact).toBe(true);
      else expect(r.q4_logits_abs_err).toBeLessThanOrEqual(TOLERANCE.float64.q4Abs);
    });
  }
});

const run = promisify(execFile);
const tsx = path.resolve(__dirname, '../../node_modules/.bin/tsx');
const cli = path.resolve(__dirname, '../../scripts/reference.ts');

describe('npm run reference CLI', () => {
  it('prints one JSON line with every field and exits 0', async () => {
    const { stdout } = await run(tsx, [cli, path.join(REF, 'llama')]);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const j = JSON.parse(lines[0]!);
    expect(Object.keys(j).sort()).toEqual(['arch', 'grad_cos_min', 'grad_rel_err', 'hidden_rel_err', 'logits_rel_err', 'loss_rel_err', 'q4_logits_abs_err'].sort());
    expect(j.arch).toBe('llama');
  });

  it('exits non-zero with a clear message when the reference disagrees', async () => {
    // same folder, but a reference loss that the model cannot reproduce
    const dir = mkdtempSync(path.join(os.tmpdir(), 'steerlab-ref-'));
    cpSync(path.join(REF, 'qwen2'), dir, { recursive: true });
    const rj = JSON.parse(readFileSync(path.join(dir, 'reference.json'), 'utf8'));
    rj.kl *= 1 + 5e-6; // 15× the worst loss error measured: inside the old 1e-5 tolerance, outside the current one
    writeFileSync(path.join(dir, 'reference.json'), JSON.stringify(rj));
    const err = await run(tsx, [cli, dir]).then(() => null, (e: { code: number; stderr: string; stdout: string }) => e);
    expect(err?.code).toBe(1);
    expect(err?.stderr).toMatch(/loss rel err/);
    expect(JSON.parse(err!.stdout.trim()).loss_rel_err).toBeGreaterThan(TOLERANCE.float64.loss);
  });

  it('names the problem for a truncated weight file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'steerlab-ref-'));
    cpSync(path.join(REF, 'qwen3'), dir, { recursive: true });
    const w = readFileSync(path.join(dir, 'model.safetensors'));
    writeFileSync(path.join(dir, 'model.safetensors'), w.subarray(0, w.length - 1000));
    const err = await run(tsx, [cli, dir]).then(() => null, (e: { code: number; stderr: string }) => e);
    expect(err?.code).toBe(2);
    expect(err?.stderr).toMatch(/model\.safetensors is truncated: tensor .+ needs bytes/);
  });

  it('names an unsupported architecture', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'steerlab-ref-'));
    cpSync(path.join(REF, 'qwen2'), dir, { recursive: true });
    const c = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    c.model_type = 'gpt_neox';
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(c));
    const err = await run(tsx, [cli, dir]).then(() => null, (e: { code: number; stderr: string }) => e);
    expect(err?.code).toBe(2);
    expect(err?.stderr).toMatch(/model_type 'gpt_neox' is not supported/);
  });
});
