// bench:anchor on a reference-fixture folder: one JSON line with the timings and ratios, and our q4 logits equal
// to plain onnxruntime's on the very file; a folder without model_q4.onnx is refused by name.

import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..');
const REF = path.resolve(ROOT, '../shared/reference');
const tsx = path.join(ROOT, 'node_modules/.bin/tsx');

describe('bench:anchor', () => {
  it('prints one JSON line: plain ORT vs our forward and step, logits equal on the same q4 file', () => {
    const out = execFileSync(tsx, ['bench/anchor.ts', path.join(REF, 'llama'), '--batch', '2', '--seq', '16', '--reps', '1'], { cwd: ROOT, encoding: 'utf8' });
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(1);
    const r = JSON.parse(lines[0]!) as Record<string, number>;
    for (const k of ['plain_ms', 'ours_fwd_ms', 'ours_step_ms', 'ratio_fwd', 'ratio_step']) expect(r[k]).toBeGreaterThan(0);
    expect(r.ratio_fwd).toBeCloseTo(r.ours_fwd_ms! / r.plain_ms!, 1);
    expect(r.logits_max_abs_diff).toBeLessThan(2e-5);
  });

  it('names what is missing', () => {
    const r = spawnSync(tsx, ['bench/anchor.ts', path.join(REF, 'qwen2-hub')], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/has no model_q4\.onnx/);
  });
});
