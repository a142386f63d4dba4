// Reads training or KL data into a slot: each source (a preset, a URL, a dropped file) is fetched with progress
// (through the file cache, so a reload works offline), previewed, split and tokenised with the loaded model's
// chat template. Bad rows are reported with their line numbers, never silently dropped.

import { concatBytes } from '../../engine/bytes';
import { DATASET_PRESETS, datasetUrl, iterateChatJsonl, prepareChatDataset } from '../../lab/data';
import type { TokenizedRow } from '../../lab/data';
import { cachingFetch } from '../hub_cache';
import type { DataSource, PreviewRow, SourceReport } from '../protocol';
import { throwIfCancelled, type JobContext, type JobHandler } from './context';

const PREVIEW_ROWS = 5;
const BAD_ROWS_SHOWN = 50;

function sourceName(s: DataSource): string {
  if (s.kind === 'preset') return DATASET_PRESETS[s.preset]?.file ?? s.preset;
  if (s.kind === 'url') return s.url.replace(/^.*\//, '') || s.url;
  return s.name;
}

async function fetchBytes(url: string, name: string, ctx: JobContext<'loadData'>): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await cachingFetch()(url, { signal: ctx.signal });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new Error(`could not fetch ${url}: ${(e as Error).message} (offline, or the server does not allow this origin)`);
  }
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}${res.status === 404 ? ' (no such file)' : ''}`);
  const total = Number(res.headers.get('content-length')) || null;
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    got += value.byteLength;
    ctx.progress({ phase: 'read', source: name, bytes: got, totalBytes: total });
  }
  return concatBytes(chunks);
}

async function preview(bytes: Uint8Array, name: string): Promise<PreviewRow[]> {
  const out: PreviewRow[] = [];
  for await (const r of iterateChatJsonl(bytes, { name })) {
    if (!r.ok) continue;
    const user = r.row.messages.find((m) => m.role === 'user')?.content ?? '';
    const assistant = [...r.row.messages].reverse().find((m) => m.role === 'assistant')?.content ?? '';
    out.push({ line: r.row.line, user, assistant });
    if (out.length >= PREVIEW_ROWS) break;
  }
  return out;
}

export const loadDataJob: JobHandler<'loadData'> = async (req, ctx) => {
  const { tok } = ctx.session.requireModel();
  if (!req.sources.length) throw new Error('choose at least one dataset');
  const reports: SourceReport[] = [];
  const train: TokenizedRow[] = [];
  const heldOut: TokenizedRow[] = [];
  let rows: PreviewRow[] = [];
  for (const s of req.sources) {
    throwIfCancelled(ctx.signal);
    const name = sourceName(s);
    ctx.phase(`reading ${name}`);
    let bytes: Uint8Array;
    if (s.kind === 'file') bytes = s.bytes;
    else bytes = await fetchBytes(s.kind === 'preset' ? datasetUrl(s.preset, req.datasetsBase || undefined) : s.url, name, ctx);
    if (rows.length < PREVIEW_ROWS) rows = rows.concat(await preview(bytes, name)).slice(0, PREVIEW_ROWS);
    ctx.phase(`tokenising ${name}`);
    const prep = await prepareChatDataset(bytes, tok, {
      labels: req.options.labels,
      maxLen: req.options.maxLen,
      heldOutFraction: req.options.heldOutFraction,
      seed: req.options.seed,
      limit: req.options.limit,
      read: {
        name,
        signal: ctx.signal,
        onProgress: (p) => ctx.progress({ phase: 'read', source: name, bytes: p.bytes, totalBytes: p.totalBytes, rows: p.rows }),
      },
      onTokenizeProgress: (done, total) => ctx.progress({ phase: 'tokenize', source: name, done, total }),
    });
    train.push(...prep.train);
    heldOut.push(...prep.heldOut);
    reports.push({
      name,
      goodRows: prep.report.goodRows,
      lines: prep.report.goodRows + prep.report.bad.length,
      bad: prep.report.bad.slice(0, BAD_ROWS_SHOWN),
      badCount: prep.report.bad.length,
      truncated: prep.report.truncated,
      skippedNoLabels: prep.report.skippedNoLabels.slice(0, BAD_ROWS_SHOWN),
      prefixFallbacks: prep.report.prefixFallbacks,
      train: prep.train.length,
      heldOut: prep.heldOut.length,
    });
  }
  if (!train.length) throw new Error(`no usable rows in ${reports.map((r) => r.name).join(', ')} (every row was bad or lost its answer to truncation)`);
  ctx.session.data[req.slot] = { train, heldOut };
  // evaluators sample rows from the training slot
  if (req.slot === 'train') await ctx.session.dropDerived('loss|');
  // the runs' KL measurement reads the first KL rows
  if (req.slot === 'kl') await ctx.session.dropDerived('klrows|');
  const lens = train.map((r) => r.ids.length);
  const maxLen = Math.max(...lens);
  const binWidth = Math.max(1, Math.ceil(maxLen / 20));
  const counts = new Array<number>(Math.floor(maxLen / binWidth) + 1).fill(0);
  for (const l of lens) counts[Math.floor(l / binWidth)]!++;
  return {
    slot: req.slot,
    sources: reports,
    train: train.length,
    heldOut: heldOut.length,
    meanTokens: lens.reduce((a, b) => a + b, 0) / lens.length,
    maxTokens: maxLen,
    lengths: { binWidth, counts },
    preview: rows,
  };
};
