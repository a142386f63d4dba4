// Every layout a user's model file can have, made by the exporters the Hub uses (test/fixtures/hub_exports,
// scripts/hub_exports/make_fixtures.py; its README says which exporter made each and where one could not run):
// each file is read — our logits within 2e-3 (4-bit) / 1e-4 (float) of onnxruntime-web running that very file,
// and of onnxruntime (Python, CPU) as recorded by the fixture job — or refused with a reason naming what to
// choose instead. A gradient check runs on weights loaded from each layout, and `npm run inspect` prints the
// same verdicts.

import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../../src/engine/runtime/backend';
import { dirSource } from '../../src/models/file_source';
import { listDirFiles } from '../../src/models/file_listing';
import { loadModel } from '../../src/models/load';
import { checkOnnxFile, maxAbsDiff, toleranceFor, type OnnxVerdict } from '../../src/models/onnx_check';
import { readSafetensorsRaw } from '../../src/models/safetensors';
import { loadRegistry } from '../../src/models/registry';
import { startFixtureServer } from '../../scripts/fixture-server';
import { directionalGradCheck } from './grad_on_weights';

const FIX = path.resolve(__dirname, '../fixtures/hub_exports');
const ROOT = path.resolve(__dirname, '../..');
const fixtures = existsSync(FIX) ? readdirSync(FIX).filter((d) => existsSync(path.join(FIX, d, 'export_info.json'))).sort() : [];
const info = (fx: string) => JSON.parse(readFileSync(path.join(FIX, fx, 'export_info.json'), 'utf8'));
const onnxFiles = (fx: string) => Object.keys(info(fx).files as Record<string, unknown>).filter((f) => existsSync(path.join(FIX, fx, f)));

/** the layout each fixture must be recognised as (tjs-*: Optimum's with-past signature, see the README) */
function expectedLayout(fx: string): string {
  if (fx.startsWith('gemma-build-')) return 'gemma-build';
  if (fx.startsWith('genai-')) return 'genai';
  return /WITHOUT past/.test(info(fx).exporter) ? 'torch-export' : 'optimum';
}

/**
 * The Gemma build fixture needs the genai builder's Gemma 3 path, which needed a second GPU-box run (see the
 * README); until its files are committed its cases are reported as skipped, by name, instead of passing.
 */
const HAVE_GEMMA_BUILD = existsSync(path.join(FIX, 'gemma-build-gemma3', 'onnx', 'model_q4f16.onnx'));

const REFUSED = /^(q8|int8|uint8) (MatMulInteger|DynamicQuantizeLinear) weights are not supported: choose q4 or q4f16$/;

let backend: Backend;
beforeAll(async () => {
  backend = await createBackend({ prefer: 'wasm' });
});

describe('hub-exporter fixtures', () => {
  it('cover every layout and dtype the issue lists', () => {
    expect(fixtures).toEqual(expect.arrayContaining(['tjs-qwen2', 'tjs-qwen3', 'tjs-llama', 'tjs-gemma3', 'chunks-qwen2', 'genai-qwen2']));
    expect(fixtures.includes('gemma-build-gemma3')).toBe(HAVE_GEMMA_BUILD);
    for (const a of ['qwen2', 'qwen3', 'llama', 'gemma3']) {
      const files = onnxFiles(`tjs-${a}`).map((f) => path.basename(f));
      expect(files, `tjs-${a}`).toEqual(expect.arrayContaining(['model_q4.onnx', 'model_q4f16.onnx', 'model_quantized.onnx', 'model_bnb4.onnx']));
    }
  });

  for (const fx of fixtures) {
    describe(fx, () => {
      for (const file of onnxFiles(fx)) {
        it(`${file}: read with logits matching onnxruntime, or refused with a reason`, async () => {
          const dir = path.join(FIX, fx);
          const r = await checkOnnxFile(dirSource(dir), file, { backend });
          const v: OnnxVerdict = r.verdict;
          const recorded = info(fx).files[file];
          // the size counts the file and all of its external data
          expect(v.bytes).toBe(recorded.bytes + Object.values(recorded.external as Record<string, number>).reduce((a, b) => a + b, 0));
          expect(v.external_chunks).toBe(Object.keys(recorded.external).length);
          if (['q8', 'int8', 'uint8'].includes(v.dtype)) {
            expect(r.status).toBe('refused');
            expect(v.reason).toMatch(REFUSED);
            expect(v.ok).toBe(false);
            return;
          }
          expect(r.status, v.reason ?? '').toBe('ok');
          expect(v.layout).toBe(expectedLayout(fx));
          const tol = toleranceFor(v.dtype);
          expect(v.logits_max_abs_diff_vs_ort!).toBeLessThanOrEqual(tol);
          // onnxruntime (Python, CPU) on the same ids, recorded by the fixture job
          const rec = readSafetensorsRaw(new Uint8Array(readFileSync(path.join(dir, 'ort_logits.safetensors'))));
          expect(Array.from(rec.get('input_ids')!.data as ArrayLike<number>)).toEqual([2, 17, 256, 999, 3, 512, 42, 7, 100, 64]);
          const py = rec.get(`ort::${file}`);
          // onnxruntime-python ran float16 files as they are, in float16: its rounding (2.5e-3 to 3.7e-3 measured) is
          // what separates us there; onnxruntime-web running the same file as-is must agree with it
          const f16 = v.dtype === 'fp16' || v.dtype === 'q4f16';
          if (py) expect(maxAbsDiff(r.ours!, py.data as Float32Array), 'vs onnxruntime-python').toBeLessThanOrEqual(f16 ? 5e-3 : tol);
          if (f16) expect(r.ortAsIsDiff, 'vs onnxruntime-web running the float16 file as it is').toBeLessThanOrEqual(5e-3);
        }, 120_000);
      }
    });
  }
});

describe('weights loaded from each layout', () => {
  const cases = [
    ['tjs-qwen2', 'onnx/model_q4f16.onnx'],
    ['tjs-gemma3', 'onnx/model_q4.onnx'],
    ['chunks-qwen2', 'onnx/model.onnx'],
    ['genai-qwen2', 'model.onnx'],
    ['gemma-build-gemma3', 'onnx/model_q4f16.onnx'],
  ] as const;
  for (const [fx, file] of cases) {
    it.skipIf(fx.startsWith('gemma-build') && !HAVE_GEMMA_BUILD)(`${fx}/${file}: autodiff gradient of the steered CE matches central differences`, async () => {
      const r = await checkOnnxFile(dirSource(path.join(FIX, fx)), file);
      expect(r.status, r.verdict.reason ?? '').toBe('ok');
      const g = await directionalGradCheck(backend, r.config!, r.weights!, [2, 17, 256, 999, 3, 512, 42, 7, 100, 64]);
      expect(g.relErr, JSON.stringify(g)).toBeLessThanOrEqual(2e-3);
      // the check is not vacuous: the loss moves along the directions
      expect(Math.max(...g.fd.map(Math.abs))).toBeGreaterThan(1e-3);
    }, 120_000);
  }

  it('loadModel reads the fp32 export whose initializers are split over three external files', async () => {
    const dir = path.join(FIX, 'chunks-qwen2');
    const r = await loadModel(dirSource(dir), { onnxFile: 'onnx/model.onnx' });
    expect(r.onnx).toMatchObject({ file: 'onnx/model.onnx', layout: 'optimum', dtype: 'fp32', externalFiles: ['model.onnx_data', 'model.onnx_data_1', 'model.onnx_data_2'] });
    const sizes = (await listDirFiles(dir)).filter((f) => f.path.startsWith('onnx/')).reduce((a, f) => a + f.size, 0);
    expect(r.onnx!.bytes).toBe(sizes);
    // config.json says so too (transformers.js reads the chunk count from it)
    const cfg = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(cfg['transformers.js_config'].use_external_data_format['model.onnx']).toBe(3);
  });

  it('loadModel refuses a q8 file with the reason, not a missing-MatMul error', async () => {
    await expect(loadModel(dirSource(path.join(FIX, 'tjs-qwen3')), { onnxFile: 'onnx/model_quantized.onnx' })).rejects.toThrow(
      /onnx\/model_quantized.onnx: q8 MatMulInteger weights are not supported: choose q4 or q4f16/,
    );
  });
});

const run = promisify(execFile);
const inspect = (...args: string[]) => run(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'scripts/inspect.ts'), ...args], { cwd: ROOT, maxBuffer: 1 << 24 });

describe('the registry against the fixture layouts', () => {
  // the first fixture folder of each layout: the registry's files must be ones a fixture of that layout proves
  const FIXTURE_OF: Record<string, string> = { optimum: 'tjs-qwen2', 'gemma-build': 'gemma-build-gemma3', genai: 'genai-qwen2' };
  for (const m of loadRegistry().models.filter((x) => x.format === 'onnx')) {
    it.skipIf(m.weights.some((w) => w.layout === 'gemma-build') && !HAVE_GEMMA_BUILD)(`${m.id}: each listed file has the name, layout, dtype and external data of a fixture that loads`, async () => {
      for (const w of m.weights) {
        expect(w.layout, `${m.id} ${w.file} names its layout`).toBeDefined();
        const fx = FIXTURE_OF[w.layout!]!;
        const r = await checkOnnxFile(dirSource(path.join(FIX, fx)), w.file);
        expect(r.status, `${fx}/${w.file}: ${r.verdict.reason}`).toBe('ok');
        expect([r.verdict.layout, r.verdict.dtype]).toEqual([w.layout, w.dtype]);
        const chunks = Object.keys(info(fx).files[w.file].external).map((c) => path.posix.join(path.posix.dirname(w.file), c));
        expect(w.externalData ?? [], `${m.id} ${w.file}: external files as the ${w.layout} exporter writes them`).toEqual(chunks);
      }
    }, 60_000);
  }
});

describe('npm run inspect', () => {
  it('reads a Hub repository by id (listing, then each file), here a local server playing the Hub', async () => {
    const hub = await startFixtureServer({ repos: { 'exports/genai-qwen2': path.join(FIX, 'genai-qwen2') } });
    try {
      const { stdout } = await inspect('exports/genai-qwen2', '--hub-url', hub.url);
      const v = JSON.parse(stdout.trim()) as OnnxVerdict;
      expect(v).toMatchObject({ file: 'model.onnx', layout: 'genai', dtype: 'q4', external_chunks: 1, ok: true, reason: null });
      expect(v.logits_max_abs_diff_vs_ort!).toBeLessThanOrEqual(2e-3);
    } finally {
      await hub.close();
    }
  }, 300_000);

  it('prints one JSON verdict per ONNX file and exits 0 when each is ok or refused with a reason', async () => {
    const { stdout } = await inspect(path.join(FIX, 'tjs-llama'));
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as OnnxVerdict);
    expect(lines.map((l) => l.file).sort()).toEqual(onnxFiles('tjs-llama').sort());
    for (const l of lines) {
      expect(Object.keys(l)).toEqual(['file', 'layout', 'dtype', 'bytes', 'external_chunks', 'ok', 'reason', 'logits_max_abs_diff_vs_ort']);
      if (l.ok) expect(l.logits_max_abs_diff_vs_ort!).toBeLessThanOrEqual(toleranceFor(l.dtype));
      else expect(l.reason).toMatch(REFUSED);
    }
    expect(lines.find((l) => l.dtype === 'q8')!.reason).toBe('q8 MatMulInteger weights are not supported: choose q4 or q4f16');
  }, 300_000);

  it('--file names one file; a config that misdescribes the weights gives wrong logits and exit 1', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'steerlab-inspect-'));
    cpSync(path.join(FIX, 'tjs-qwen2'), dir, { recursive: true });
    const cfg = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    cfg.rope_parameters = { rope_theta: 10000.0, rope_type: 'default' }; // the export used 1e6
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
    const err = await inspect(dir, '--file', 'onnx/model_q4.onnx').then(
      () => null,
      (e: { code: number; stdout: string }) => e,
    );
    expect(err?.code).toBe(1);
    const v = JSON.parse(err!.stdout.trim()) as OnnxVerdict;
    expect(v).toMatchObject({ file: 'onnx/model_q4.onnx', ok: false });
    expect(v.reason).toMatch(/our logits differ from onnxruntime's by .* \(tolerance 0.002 for q4 on wasm\)/);
  }, 300_000);
});
