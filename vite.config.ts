// The lab's dev server and build. Beyond React, three things matter:
// - cross-origin isolation (COOP/COEP) in dev and preview, so SharedArrayBuffer exists and onnxruntime-web's
//   wasm runs threaded;
// - onnxruntime-web's runtime files (the asyncify .wasm and .mjs the WebGPU build loads) are served from this
//   origin: the worker imports them with `?url` and sets env.wasm.wasmPaths to those URLs, so no CDN is ever
//   hit (transformers.js would otherwise point ORT at jsDelivr);
// - exactly one onnxruntime-web: the engine's Node-only `import('onnxruntime-web')` and transformers.js'
//   `onnxruntime-common` are aliased to the WebGPU build the browser uses, and ORT is excluded from dependency
//   pre-bundling so every importer shares one module.

import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  // relative asset URLs: the built lab works from any folder (a static host, GitHub Pages, a file server)
  base: './',
  plugins: [react()],
  resolve: {
    alias: [
      { find: /^onnxruntime-web$/, replacement: 'onnxruntime-web/webgpu' },
      { find: /^onnxruntime-common$/, replacement: 'onnxruntime-web/webgpu' },
    ],
  },
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
  worker: { format: 'es' },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  build: {
    target: 'es2022',
    outDir: 'dist',
    // Plotly (≈4.6 MB) is one chunk by nature and loads on first chart; the worker holds ORT and transformers.js
    chunkSizeWarningLimit: 5000,
  },
});
