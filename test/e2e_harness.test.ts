// The browser harness works: headless Debian Chromium gets a WebGPU adapter (SwiftShader when there is no GPU)
// and onnxruntime-web's WebGPU build runs a real ONNX graph on it. Skipped only on a machine without
// /usr/bin/chromium outside CI; under CI=true a missing browser is a failure (bash .ci/run installs it).

import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_PATH, launchChromium, type HarnessBrowser } from '../e2e/harness/chromium';
import { runOrtWebgpu } from '../e2e/harness/ort-page';
import { startStaticServer, type StaticServer } from '../e2e/harness/static-server';
import { adapterReport } from '../e2e/harness/webgpu';
import { ONNX_DTYPE } from '../src/engine/dtype';
import { encodeModel, type OnnxValueInfo } from '../src/engine/onnx/proto';

const inCI = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';
const skip = !existsSync(CHROMIUM_PATH) && !inCI;

/** c = a + b over float32 [2, N] (N symbolic), opset 17. */
function addModel(): Uint8Array {
  const vi = (name: string): OnnxValueInfo => ({
    name,
    type: { tensor_type: { elem_type: ONNX_DTYPE.float32, shape: { dim: [{ dim_value: 2 }, { dim_param: 'N' }] } } },
  });
  return encodeModel({
    ir_version: 8,
    opset_import: [{ domain: '', version: 17 }],
    producer_name: 'steerlab-e2e',
    graph: {
      name: 'add',
      node: [{ op_type: 'Add', input: ['a', 'b'], output: ['c'], name: 'add0' }],
      input: [vi('a'), vi('b')],
      output: [vi('c')],
    },
  });
}

describe.skipIf(skip)('e2e harness: headless Chromium + WebGPU', () => {
  let browser: HarnessBrowser;
  let server: StaticServer;
  beforeAll(async () => {
    server = await startStaticServer({
      root: path.resolve(__dirname, '..'),
      routes: {
        '/harness.html': { body: '<!doctype html><meta charset="utf-8"><title>steerlab e2e</title>', type: 'text/html; charset=utf-8' },
        '/add.onnx': { body: addModel(), type: 'application/octet-stream' },
      },
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('gives a page on a local server a WebGPU adapter', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/harness.html`);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    const a = await adapterReport(page);
    console.log(`WebGPU adapter: ${JSON.stringify({ ...a, features: undefined })}; features: ${a.features?.join(' ')}`);
    expect(a.available, a.reason).toBe(true);
    expect(typeof a.shaderF16).toBe('boolean');
    expect(a.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 2 ** 20); // WebGPU's guaranteed minimum
    await page.close();
  });

  it('runs an ONNX Add on onnxruntime-web with the webgpu execution provider', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/harness.html`);
    const a = [1.5, -2, 3.25, 1e-3, 65504, -0.5, 7, 8];
    const b = [0.25, 2, -1, 1e-3, 1, 0.5, -7, 1 / 3];
    const { outputs, ortVersion } = await runOrtWebgpu(page, server.url, `${server.url}/add.onnx`, {
      a: { dims: [2, 4], data: a },
      b: { dims: [2, 4], data: b },
    });
    const c = outputs.c!;
    console.log(`onnxruntime-web ${ortVersion}: output location ${c.location}`);
    expect(c.dims).toEqual([2, 4]);
    expect(c.type).toBe('float32');
    expect(c.location).toBe('gpu-buffer'); // the result was produced by the WebGPU EP, not a CPU fallback
    const want = a.map((x, i) => Math.fround(Math.fround(x) + Math.fround(b[i]!)));
    expect(c.data).toEqual(want);
    expect(browser.logs.filter((l) => l.startsWith('[pageerror]'))).toEqual([]);
    await page.close();
  });
});
