// Runs onnxruntime-web's WebGPU build inside a page: the bundle and its wasm come from the static server's
// copy of node_modules/onnxruntime-web/dist, so nothing is fetched from a CDN.

import type { Page } from 'playwright-core';

export const ORT_DIST = '/node_modules/onnxruntime-web/dist/';

export interface PageTensor {
  dims: number[];
  type: string;
  /** where ORT left the output before we read it back ('gpu-buffer' proves it came off the GPU) */
  location: string;
  data: number[];
}

export interface PageRunResult {
  outputs: Record<string, PageTensor>;
  /** ort.env.versions.web */
  ortVersion: string;
}

/**
 * Loads the model at `modelUrl` (same origin as the page) with executionProviders ['webgpu'], asks for outputs
 * to stay on the GPU, feeds float32 inputs and returns the outputs read back.
 */
export async function runOrtWebgpu(
  page: Page,
  serverUrl: string,
  modelUrl: string,
  feeds: Record<string, { dims: number[]; data: number[] }>,
): Promise<PageRunResult> {
  return page.evaluate(
    async ({ base, modelUrl, feeds, dist }) => {
      // import() through Function: test runners (vite-node) rewrite a literal import() in this function's source,
      // and the rewritten helper does not exist in the page
      const dynamicImport = new Function('u', 'return import(u)') as (u: string) => Promise<any>;
      const ort = await dynamicImport(`${base}${dist}ort.webgpu.min.mjs`);
      ort.env.wasm.wasmPaths = `${base}${dist}`;
      ort.env.logLevel = 'warning';
      const model = new Uint8Array(await (await fetch(modelUrl)).arrayBuffer());
      const session = await ort.InferenceSession.create(model, { executionProviders: ['webgpu'], preferredOutputLocation: 'gpu-buffer' });
      const inputs: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(feeds)) inputs[k] = new ort.Tensor('float32', Float32Array.from(v.data), v.dims);
      const res = await session.run(inputs);
      const outputs: Record<string, { dims: number[]; type: string; location: string; data: number[] }> = {};
      for (const [k, t] of Object.entries(res) as [string, any][]) {
        const location = t.location;
        const data = Array.from((await t.getData(true)) as Float32Array);
        outputs[k] = { dims: [...t.dims], type: t.type, location, data };
      }
      await session.release();
      return { outputs, ortVersion: ort.env.versions?.web ?? 'unknown' };
    },
    { base: serverUrl, modelUrl, feeds, dist: ORT_DIST },
  );
}
