// The 4-bit MatMulNBits gradient on WebGPU in headless Chromium (the wasm check is in test/engine/gradcheck.test.ts):
// y = a·Wᵀ and ∂(Σ y·w)/∂a = w·W computed by the engine on the WebGPU EP equal a JS reading of the same packed
// bytes (quant4_fixture.ts, written from the contrib-op spec), for symmetric and zero-point weights, a padded last
// block, and Qwen's block size 32.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_PATH, launchChromium, type HarnessBrowser } from '../e2e/harness/chromium';
import { startStaticServer, type StaticServer } from '../e2e/harness/static-server';
import { buildPage } from '../e2e/build-page';
import type { NbitsCase } from '../e2e/pages/nbits_grad';
import { dequantizeRef, quantize4, randomMatrix } from './engine/quant4_fixture';

const inCI = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';
const skip = !existsSync(CHROMIUM_PATH) && !inCI;

function makeCase(name: string, N: number, K: number, blockSize: number, zp: boolean, rows: number, seed: number) {
  const p = quantize4(randomMatrix(N * K, seed), N, K, blockSize, zp);
  const a = Array.from(randomMatrix(rows * K, seed + 1));
  const w = Array.from(randomMatrix(rows * N, seed + 2));
  const c: NbitsCase = { name, N, K, blockSize, rows, a: a.map(Math.fround), w: w.map(Math.fround), packed: Array.from(p.packed), scales: Array.from(p.scales), zeroPoints: p.zeroPoints ? Array.from(p.zeroPoints) : null };
  // the reference in float64 from the same float32 inputs
  const W = dequantizeRef(p);
  const y = new Float64Array(rows * N);
  const g = new Float64Array(rows * K);
  for (let m = 0; m < rows; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += c.a[m * K + k]! * W[n * K + k]!;
      y[m * N + n] = s;
      for (let k = 0; k < K; k++) g[m * K + k]! += c.w[m * N + n]! * W[n * K + k]!;
    }
  }
  return { c, y, g };
}

/** max |ours − ref| / max |ref| */
function relErr(ours: number[], ref: Float64Array): number {
  let err = 0;
  let scale = 0;
  ref.forEach((r, i) => {
    err = Math.max(err, Math.abs(ours[i]! - r));
    scale = Math.max(scale, Math.abs(r));
  });
  return err / scale;
}

const CASES = [
  makeCase('symmetric (zero point 8), K 40 in blocks of 16 (padded last block)', 3, 40, 16, false, 4, 11),
  makeCase('packed zero points, K 40 in blocks of 16', 3, 40, 16, true, 4, 21),
  makeCase("Qwen's layout: K 128 in blocks of 32, N 64, symmetric", 64, 128, 32, false, 6, 31),
];

describe.skipIf(skip)('MatMulNBits gradient on WebGPU in Chromium', () => {
  let browser: HarnessBrowser;
  let site: StaticServer;
  beforeAll(async () => {
    await buildPage('nbits_grad');
    site = await startStaticServer({ root: path.resolve(__dirname, '..') });
    browser = await launchChromium();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  it('y and ∂(Σ y·w)/∂a equal the JS reading of the packed bytes', async () => {
    const page = await browser.newPage();
    page.on('console', (m) => m.type() === 'error' && console.log(`[page] ${m.text()}`));
    await page.goto(`${site.url}/e2e/.build/nbits_grad/nbits_grad.html`);
    await page.waitForFunction(() => typeof window.steerlabNbitsGrad === 'function');
    const r = await page.evaluate(([dist, cases]) => window.steerlabNbitsGrad(dist as string, cases as NbitsCase[]), [`${site.url}/node_modules/onnxruntime-web/dist/`, CASES.map((x) => x.c)] as const);
    expect(r.backend).toBe('webgpu');
    for (const [i, { c, y, g }] of CASES.entries()) {
      const out = r.results[i]!;
      const ey = relErr(out.y, y);
      const eg = relErr(out.grad, g);
      console.log(`${c.name}: forward rel err ${ey.toExponential(2)}, gradient rel err ${eg.toExponential(2)}`);
      // measured on SwiftShader 2026-12-02: forward ≤ 1.3e-7, gradient ≤ 3.0e-7
      expect(ey, c.name).toBeLessThan(1e-6);
      expect(eg, c.name).toBeLessThan(1e-6);
    }
    await page.close();
  }, 600_000);
});
