// FineWeb through the Hugging Face dataset viewer's rows API
// (GET {base}/rows?dataset=HuggingFaceFW/fineweb&config=sample-10BT&split=train&offset=…&length=100):
// no parquet decoding and CORS-enabled, so it is the default in the browser. Pages of up to 100 rows are
// requested in dataset order until N documents longer than minChars are collected.
// The viewer may truncate very large cells (listed in truncated_cells); documents are cut to 2000 characters
// anyway, so a truncated cell only matters if it came back shorter than that, which the length rule then handles.

import { fetchJson, type HttpOptions } from './http';
import {
  FINEWEB_CONFIG,
  FINEWEB_DATASET,
  FINEWEB_MAX_CHARS,
  FINEWEB_MIN_CHARS,
  checkDocCount,
  selectDoc,
  throwIfAborted,
  type FetchDocsOptions,
  type FinewebSource,
} from './source';

export const DATASETS_SERVER = 'https://datasets-server.huggingface.co';

export interface HubRowsOptions extends Omit<HttpOptions, 'signal'> {
  dataset?: string;
  config?: string;
  split?: string;
  /** rows per request (the API allows at most 100) */
  pageSize?: number;
  /** the column holding the document (default 'text') */
  column?: string;
}

export function hubRowsSource(baseUrl: string = DATASETS_SERVER, opts: HubRowsOptions = {}): FinewebSource {
  const dataset = opts.dataset ?? FINEWEB_DATASET;
  const config = opts.config ?? FINEWEB_CONFIG;
  const split = opts.split ?? 'train';
  const column = opts.column ?? 'text';
  const pageSize = Math.min(100, Math.max(1, opts.pageSize ?? 100));
  const base = baseUrl.replace(/\/+$/, '');

  return {
    id: `hub-rows:${dataset}/${config}/${split}/${column}`,
    async fetchDocs(n: number, o: FetchDocsOptions = {}): Promise<string[]> {
      checkDocCount(n);
      const minChars = o.minChars ?? FINEWEB_MIN_CHARS;
      const maxChars = o.maxChars ?? FINEWEB_MAX_CHARS;
      const docs: string[] = [];
      for (let offset = 0; docs.length < n; offset += pageSize) {
        throwIfAborted(o.signal);
        const q = new URLSearchParams({ dataset, config, split, offset: String(offset), length: String(pageSize) });
        const url = `${base}/rows?${q}`;
        const body = await fetchJson(url, { ...opts, signal: o.signal });
        const rows = (body as { rows?: unknown })?.rows;
        if (!Array.isArray(rows)) throw new Error(`${url}: malformed rows response (no "rows" list)`);
        rows.forEach((r, i) => {
          const text = (r as { row?: Record<string, unknown> })?.row?.[column];
          if (typeof text !== 'string') {
            throw new Error(`${url}: malformed rows response: rows[${i}].row.${column} is not a string`);
          }
          if (docs.length >= n) return;
          const doc = selectDoc(text, minChars, maxChars);
          if (doc !== null) docs.push(doc);
        });
        o.onProgress?.(docs.length, n);
        const total = (body as { num_rows_total?: unknown }).num_rows_total;
        // end of the split: an empty or short page, or the announced total reached
        if (rows.length < pageSize || (typeof total === 'number' && offset + rows.length >= total)) break;
      }
      return docs;
    },
  };
}
