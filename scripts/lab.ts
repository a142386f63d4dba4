// npm run --silent lab -- PLAN.json
// Runs a whole study headless (Node, wasm EP) and writes the report named in the plan. Paths in the plan are
// relative to the plan file; `model` is a folder or a Hub id (hub_base_url for a stand-in Hub); datasets are
// preset names (datasets_base_url for a stand-in host), paths or URLs; fineweb.source is "hub", "hub:<url>",
// a .parquet URL, or a JSON/JSONL file of documents.

import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBackend } from '../src/engine/runtime/backend';
import { dirSource, hubSource } from '../src/models/file_source';
import { DATASET_PRESETS, datasetUrl, isDatasetPresetId } from '../src/lab/data/presets';
import { hubRowsSource, parquetSource, selectDoc } from '../src/lab/fineweb';
import { parsePlan, type Plan } from '../src/lab/plan/schema';
import { runPlan } from '../src/lab/plan/run';
import { Retryable, withRetry } from '../src/lab/retry';

async function readJsonDocs(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  const items: unknown[] = file.endsWith('.jsonl') ? text.split('\n').filter((l) => l.trim()).map((l, i) => {
    try {
      return JSON.parse(l);
    } catch {
      throw new Error(`${file}:${i + 1} is not JSON`);
    }
  }) : JSON.parse(text);
  if (!Array.isArray(items)) throw new Error(`${file} must hold a list of documents`);
  return items.map((x, i) => {
    const t = typeof x === 'string' ? x : (x as { text?: unknown })?.text;
    if (typeof t !== 'string') throw new Error(`${file}: document ${i + 1} has no text`);
    return t;
  });
}

/**
 * A study runs for minutes to hours; a keep-alive connection the server dropped between two downloads, or a brief
 * network hiccup, should not end it. Requests that failed before any response arrived (fetch rejects with a
 * TypeError) are retried twice after a short pause; HTTP errors are answers and are not retried.
 */
function retryingFetch(plain: typeof fetch): typeof fetch {
  return (input, init) =>
    withRetry(
      async () => {
        try {
          return await plain(input, init);
        } catch (e) {
          if (init?.signal?.aborted || !(e instanceof TypeError)) throw e;
          throw new Retryable(`${e.message} (${String(input instanceof Request ? input.url : input)})`, { cause: e });
        }
      },
      { retries: 2, delayMs: 500, signal: init?.signal ?? undefined },
    );
}

async function main() {
  globalThis.fetch = retryingFetch(globalThis.fetch.bind(globalThis));
  const started = performance.now();
  const planFile = process.argv[2];
  if (!planFile) throw new Error('usage: npm run --silent lab -- PLAN.json');
  const dir = path.dirname(path.resolve(planFile));
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(planFile, 'utf8'));
  } catch (e) {
    throw new Error(`${planFile}: ${(e as Error).message}`);
  }
  const plan = parsePlan(raw);
  const local = (p: string) => path.resolve(dir, p);
  const pkg = async (name: string) => JSON.parse(await readFile(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../node_modules', name, 'package.json'), 'utf8')).version as string;
  const report = await runPlan(plan, {
    backend: await createBackend({ prefer: 'wasm' }),
    modelSource: (p: Plan) => (existsSync(local(p.model)) ? dirSource(local(p.model)) : hubSource(p.model, { baseUrl: p.hub_base_url })),
    tokenizerSource: plan.tokenizer ? (p: Plan) => dirSource(local(p.tokenizer!)) : undefined,
    dataset: async (spec, p) => {
      if (isDatasetPresetId(spec)) return datasetUrl(spec, p.datasets_base_url);
      if (/^https?:\/\//.test(spec)) return spec;
      if (!existsSync(local(spec))) throw new Error(`not a dataset preset (${Object.keys(DATASET_PRESETS).join(', ')}), a URL, or an existing file (${local(spec)})`);
      return new Uint8Array(await readFile(local(spec)));
    },
    finewebDocs: async (p, n) => {
      const s = p.fineweb!.source;
      if (s === 'hub' || s.startsWith('hub:')) return hubRowsSource(s.length > 4 ? s.slice(4) : undefined).fetchDocs(n);
      if (/^https?:\/\/.*\.parquet/.test(s)) return parquetSource(s).fetchDocs(n);
      const docs = (await readJsonDocs(local(s))).map((t) => selectDoc(t)).filter((t): t is string => t !== null);
      return docs.slice(0, n);
    },
    readText: async (spec) => {
      if (/^https?:\/\//.test(spec)) {
        const res = await fetch(spec);
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        return res.text();
      }
      if (!existsSync(local(spec))) throw new Error(`no such file ${local(spec)}`);
      return readFile(local(spec), 'utf8');
    },
    versions: { steerlab: await pkg('..'), 'onnxruntime-web': await pkg('onnxruntime-web'), '@huggingface/transformers': await pkg('@huggingface/transformers'), node: process.version },
    log: (m) => console.error(`[lab ${((performance.now() - started) / 1000).toFixed(1)} s] ${m}`),
  });
  const out = local(plan.report);
  await writeFile(out, JSON.stringify(report, null, 1));
  console.error(`[lab] report written to ${out} (${report.seconds.toFixed(1)} s)`);
}

main().catch((e: Error) => {
  console.error(`lab: ${e.message}`);
  process.exit(1);
});
