// FineWeb from a parquet shard over HTTP range reads (hyparquet): only the footer and the pages of the 'text'
// column that hold the first documents are downloaded, never the whole (multi-GB) shard.

import { asyncBufferFromUrl, cachedAsyncBuffer, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import type { AsyncBuffer, Compressors, FileMetaData } from 'hyparquet';
import {
  FINEWEB_MAX_CHARS,
  FINEWEB_MIN_CHARS,
  checkDocCount,
  selectDoc,
  throwIfAborted,
  type FetchDocsOptions,
  type FinewebSource,
} from './source';

/** First shard of HuggingFaceFW/fineweb sample-10BT on the Hub. */
export const FINEWEB_SAMPLE_PARQUET_URL =
  'https://huggingface.co/datasets/HuggingFaceFW/fineweb/resolve/main/sample/10BT/000_00000.parquet';

export interface ParquetSourceOptions {
  column?: string;
  /** rows decoded per read (default 256) */
  window?: number;
  /** extra decompressors (e.g. from hyparquet-compressors) for shards not compressed with snappy */
  compressors?: Compressors;
  fetch?: typeof fetch;
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function parquetSource(url: string = FINEWEB_SAMPLE_PARQUET_URL, opts: ParquetSourceOptions = {}): FinewebSource {
  const column = opts.column ?? 'text';
  const window = Math.max(1, opts.window ?? 256);
  // the file handle and footer are fetched once per source and reused by later calls
  let opened: Promise<{ file: AsyncBuffer; metadata: FileMetaData; numRows: number }> | null = null;

  // No abort signal goes into the file handle: it outlives the call that opened it; calls check theirs between reads.
  const open = () => {
    opened ??= (async () => {
      let file: AsyncBuffer;
      try {
        file = cachedAsyncBuffer(await asyncBufferFromUrl({ url, fetch: opts.fetch }));
      } catch (e) {
        throw new Error(`parquet ${url}: cannot open (${describe(e)})`);
      }
      let metadata: FileMetaData;
      try {
        metadata = await parquetMetadataAsync(file);
      } catch (e) {
        throw new Error(`parquet ${url}: cannot read the footer (${describe(e)})`);
      }
      const names = metadata.schema.slice(1).map((s) => s.name);
      if (!names.includes(column)) throw new Error(`parquet ${url}: no column "${column}" (columns: ${names.join(', ')})`);
      return { file, metadata, numRows: Number(metadata.num_rows) };
    })();
    // a failed open (network hiccup, abort) must not poison the next call
    opened.catch(() => {
      opened = null;
    });
    return opened;
  };

  return {
    id: `parquet:${url}#${column}`,
    async fetchDocs(n: number, o: FetchDocsOptions = {}): Promise<string[]> {
      checkDocCount(n);
      const minChars = o.minChars ?? FINEWEB_MIN_CHARS;
      const maxChars = o.maxChars ?? FINEWEB_MAX_CHARS;
      const { file, metadata, numRows } = await open();
      const docs: string[] = [];
      for (let start = 0; start < numRows && docs.length < n; start += window) {
        throwIfAborted(o.signal);
        const end = Math.min(numRows, start + window);
        let rows: Record<string, unknown>[];
        try {
          rows = await parquetReadObjects({ file, metadata, columns: [column], rowStart: start, rowEnd: end, compressors: opts.compressors });
        } catch (e) {
          throw new Error(`parquet ${url}: cannot read rows ${start}–${end} (${describe(e)})`);
        }
        for (let i = 0; i < rows.length && docs.length < n; i++) {
          const text = rows[i]![column];
          if (text === null || text === undefined) continue;
          if (typeof text !== 'string') throw new Error(`parquet ${url}: row ${start + i} column "${column}" is not text`);
          const doc = selectDoc(text, minChars, maxChars);
          if (doc !== null) docs.push(doc);
        }
        o.onProgress?.(docs.length, n);
      }
      return docs;
    },
  };
}
