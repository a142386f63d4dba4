// FineWeb documents for the pre-training significance test (Fig 6, SCIENCE.md): the first N documents of
// HuggingFaceFW/fineweb sample-10BT longer than 100 characters, each cut to 2000 characters. Several sources
// (the dataset viewer's rows API, a parquet shard over HTTP range reads, a cache) share this interface.

export interface FetchDocsOptions {
  /** keep documents LONGER than this many characters (default 100) */
  minChars?: number;
  /** cut each kept document to this many characters (default 2000) */
  maxChars?: number;
  onProgress?: (got: number, wanted: number) => void;
  signal?: AbortSignal;
}

export interface FinewebSource {
  /** names what the documents are (dataset/config/split or file), used as the cache key */
  id: string;
  /** the first n qualifying documents in dataset order; fewer only if the source runs out */
  fetchDocs(n: number, opts?: FetchDocsOptions): Promise<string[]>;
}

export const FINEWEB_DATASET = 'HuggingFaceFW/fineweb';
export const FINEWEB_CONFIG = 'sample-10BT';
export const FINEWEB_MIN_CHARS = 100;
export const FINEWEB_MAX_CHARS = 2000;

/**
 * Applies the length rule in Unicode code points, as the paper's Python (len(text) > 100, text[:2000]) counts
 * characters, so that emoji and other astral characters count once and are never split in half.
 * Returns null for a document that is not longer than minChars.
 */
export function selectDoc(text: string, minChars = FINEWEB_MIN_CHARS, maxChars = FINEWEB_MAX_CHARS): string | null {
  let count = 0;
  let i = 0;
  while (i < text.length && count < maxChars) {
    const c = text.charCodeAt(i);
    // a high surrogate followed by a low one is one code point
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
    count++;
  }
  // count is exact up to maxChars; anything beyond is longer still
  const longer = i < text.length ? count + 1 : count;
  if (longer <= minChars) return null;
  return i < text.length ? text.slice(0, i) : text;
}

export function checkDocCount(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`fetchDocs: n must be a positive integer, got ${n}`);
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason ?? new Error('aborted');
}
