// The onnxruntime-web runtime files the WebGPU build loads (its asyncify wasm and the matching .mjs, which also
// starts the wasm threads), as URLs of this origin: Vite serves them in dev and copies them into the build.
// The backend is given these instead of ORT's default (transformers.js would set a CDN).

import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import mjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';

export const ORT_FILES = {
  wasm: new URL(wasmUrl, self.location.href).href,
  mjs: new URL(mjsUrl, self.location.href).href,
};
