// Builds an e2e page (e2e/pages/NAME.html and its module) with Vite into e2e/.build/NAME, for browser tests
// that run library code (not the app) in a real page.
import path from 'node:path';
import { build } from 'vite';

export async function buildPage(name: string): Promise<string> {
  const root = path.resolve(__dirname, 'pages');
  const outDir = path.resolve(__dirname, '.build', name);
  await build({
    configFile: false,
    root,
    logLevel: 'error',
    base: './',
    build: { outDir, emptyOutDir: true, target: 'es2022', rollupOptions: { input: path.join(root, `${name}.html`) }, minify: false },
    optimizeDeps: { exclude: ['onnxruntime-web'] },
  });
  return outDir;
}
