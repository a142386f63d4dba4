import { defineConfig } from 'vitest/config';

// Unit and reference tests run in Node on onnxruntime-web's wasm EP (the runtime that ships).
// Browser tests live in e2e/ and have their own runner (npm run test:e2e).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
