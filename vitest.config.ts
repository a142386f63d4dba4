import { defineConfig } from 'vitest/config';

// Unit and reference tests run in Node on onnxruntime-web's wasm EP (the runtime that ships).
// Browser tests (headless Chromium with WebGPU) are test files too: they build their pages and drive them.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
