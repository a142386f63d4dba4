import { defineConfig } from 'vitest/config';

// End-to-end tests of the built app in headless Chromium (WebGPU on SwiftShader when there is no GPU).
// One file at a time: each drives a browser, and the machine's cores are better spent on the browser.
export default defineConfig({
  test: {
    include: ['e2e/**/*.test.ts'],
    testTimeout: 900_000,
    hookTimeout: 300_000,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
