// Streaming reader for chat JSONL, plain or gzip, from bytes, a ReadableStream, a URL or a File/Blob.
// Streaming matters in the browser: a dataset is decompressed and parsed chunk by chunk as it downloads, with
// progress, instead of holding the compressed file, the text and the rows all at once.
// Lines are split on raw bytes (0x0A never occurs inside a multi-byte UTF-8 character), so one line of broken
// UTF-8 spoils only that line. Bad rows are counted and reported by 1-based line number; only input that is not
// gzip/JSONL at all (binary, an HTML error page, an empty file) throws.

import { concatBytes } from '../../engine/bytes';
import { isBadRow, parseChatLine, type BadRow, type ChatRow } from './chat';
import { plural } from '../../engine/plural';

export type ChatInput = Uint8Array | ArrayBuffer | ReadableStream<Uint8Array> | Blob | string | URL;

export interface ReadProgress {
  /** bytes of the input (compressed, if gzip) consumed so far */
  bytes: number;
  /** input size when known (Blob size, Content-Length, byte length) */
  totalBytes: number | null;
  rows: number;
  bad: number;
}

export interface ReadOptions {
  /** how messages name the input; defaults to the URL, the File name, or "input" */
  name?: string;
  signal?: AbortSignal;
  onProgress?: (p: ReadProgress) => void;
  /** 'auto' (default) uses DecompressionStream when the platform has one (it checks the gzip CRC), else fflate */
  decompressor?: 'auto' | 'native' | 'fflate';
  fetch?: typeof fetch;
  /** longest line read as a row (default MAX_LINE_BYTES); longer lines are bad rows, dropped without buffering */
  maxLineBytes?: number;
}

export type ChatLineResult = { ok: true; row: ChatRow } | { ok: false; bad: BadRow };

export interface ChatDataset {
  name: string;
  rows: ChatRow[];
  bad: BadRow[];
  /** number of the last non-blank line (the file's line count, give or take trailing blank lines) */
  lines: number;
}

/** If this many non-blank lines come first and none parses as JSON, the input is not JSONL: stop and say so. */
const NOT_JSONL_AFTER = 20;

interface ByteSource {
  name: string;
  totalBytes: number | null;
  chunks: AsyncIterable<Uint8Array>;
}

async function* streamChunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      if (value && value.length > 0) yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

async function openInput(input: ChatInput, opts: ReadOptions): Promise<ByteSource> {
  if (input instanceof Uint8Array || input instanceof ArrayBuffer) {
    const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
    return {
      name: opts.name ?? 'input',
      totalBytes: bytes.length,
      chunks: (async function* () {
        // hand out slices so that progress moves and the event loop breathes on big in-memory files
        for (let i = 0; i < bytes.length; i += 1 << 20) yield bytes.subarray(i, Math.min(bytes.length, i + (1 << 20)));
      })(),
    };
  }
  if (typeof input === 'string' || input instanceof URL) {
    const url = String(input);
    const doFetch = opts.fetch ?? globalThis.fetch;
    let res: Response;
    try {
      res = await doFetch(url, { signal: opts.signal });
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      throw new Error(`cannot fetch ${url}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${res.statusText}`.trim());
    if (!res.body) throw new Error(`${url}: the response has no body`);
    const len = Number(res.headers.get('content-length'));
    // a Content-Length on a response the browser decoded (Content-Encoding) counts the encoded bytes: still a fair total
    return { name: opts.name ?? url, totalBytes: Number.isFinite(len) && len > 0 ? len : null, chunks: streamChunks(res.body) };
  }
  if (typeof Blob !== 'undefined' && input instanceof Blob) {
    const name = opts.name ?? ((input as { name?: unknown }).name as string | undefined) ?? 'input';
    return { name, totalBytes: input.size, chunks: streamChunks(input.stream() as ReadableStream<Uint8Array>) };
  }
  if (input && typeof (input as ReadableStream).getReader === 'function') {
    return { name: opts.name ?? 'input', totalBytes: null, chunks: streamChunks(input as ReadableStream<Uint8Array>) };
  }
  throw new Error('readChatJsonl: input must be bytes, a ReadableStream, a Blob/File or a URL');
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** Pulls chunks until at least n bytes are buffered (or the input ends), so that the magic number can be read. */
async function peek(chunks: AsyncIterator<Uint8Array>, n: number): Promise<{ head: Uint8Array; done: boolean }> {
  const parts: Uint8Array[] = [];
  let len = 0;
  while (len < n) {
    const r = await chunks.next();
    if (r.done) return { head: concatBytes(parts), done: true };
    parts.push(r.value);
    len += r.value.length;
  }
  return { head: concatBytes(parts), done: false };
}

async function* gunzipNative(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const it = chunks[Symbol.asyncIterator]();
  const input = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const r = await it.next();
      if (r.done) controller.close();
      else controller.enqueue(r.value);
    },
    async cancel() {
      await it.return?.();
    },
  });
  const out = input.pipeThrough(new DecompressionStream('gzip') as unknown as ReadableWritablePair<Uint8Array, Uint8Array>);
  yield* streamChunks(out);
}

/**
 * fflate only where DecompressionStream is missing (every current browser and Node have it): loaded on first use,
 * so bundles and installs that never need it do without it (an optional dependency).
 */
async function loadFflate(): Promise<typeof import('fflate')> {
  try {
    return await import('fflate');
  } catch (e) {
    throw new Error(`this platform has no DecompressionStream and the optional package fflate is not installed (${e instanceof Error ? e.message : String(e)})`);
  }
}

async function* gunzipFflate(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const { Gunzip } = await loadFflate();
  const out: Uint8Array[] = [];
  const g = new Gunzip((data) => {
    if (data.length > 0) out.push(data);
  });
  for await (const c of chunks) {
    g.push(c, false);
    while (out.length) yield out.shift()!;
  }
  g.push(new Uint8Array(0), true);
  while (out.length) yield out.shift()!;
}

/** Wraps decompression so that a truncated or corrupt gzip names the input. */
async function* gunzip(chunks: AsyncIterable<Uint8Array>, name: string, which: ReadOptions['decompressor']): AsyncGenerator<Uint8Array> {
  const native = typeof DecompressionStream !== 'undefined';
  if (which === 'native' && !native) throw new Error('DecompressionStream is not available on this platform');
  const useNative = which === 'native' || (which !== 'fflate' && native);
  try {
    yield* useNative ? gunzipNative(chunks) : gunzipFflate(chunks);
  } catch (e) {
    throw new Error(`${name}: gzip data is corrupt or truncated (${e instanceof Error ? e.message : String(e)})`);
  }
}

/**
 * Longest line kept, in bytes. A chat row is a few KB; a file without newlines (one huge JSON array, a binary
 * blob that passed the text check) must not be gathered into one buffer the size of the file.
 */
export const MAX_LINE_BYTES = 4 << 20;

/** A line longer than MAX_LINE_BYTES: its bytes were dropped as they came, only their count is kept. */
interface OverlongLine {
  overlong: number;
}

/** Splits a byte stream into lines (without the \n and any \r before it); lines over `maxLine` bytes come as OverlongLine. */
async function* byteLines(chunks: AsyncIterable<Uint8Array>, maxLine = MAX_LINE_BYTES): AsyncGenerator<Uint8Array | OverlongLine> {
  let rest: Uint8Array | null = null;
  /** bytes of the current line dropped so far, once it is known to be too long (-1: not dropping) */
  let dropped = -1;
  for await (const chunk of chunks) {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      if (dropped >= 0) {
        yield { overlong: dropped + nl - start };
        dropped = -1;
      } else {
        let piece = chunk.subarray(start, nl);
        if (rest) {
          piece = concatBytes([rest, piece]);
          rest = null;
        }
        if (piece.length > maxLine) yield { overlong: piece.length };
        else yield piece;
      }
      start = nl + 1;
    }
    if (start < chunk.length) {
      const tail = chunk.subarray(start);
      if (dropped >= 0) dropped += tail.length;
      else if ((rest?.length ?? 0) + tail.length > maxLine) {
        dropped = (rest?.length ?? 0) + tail.length;
        rest = null;
      }
      // copy: the chunk's buffer may be reused by the producer
      else rest = rest ? concatBytes([rest, tail]) : tail.slice();
    }
  }
  if (dropped >= 0) yield { overlong: dropped };
  else if (rest && rest.length > 0) yield rest;
}

function isBlank(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0x20 && b !== 0x09 && b !== 0x0d) return false;
  return true;
}

/** NUL bytes or a high share of undecodable/control characters in the first 4 KB: binary, not text. */
function looksBinary(head: Uint8Array): boolean {
  const probe = head.subarray(0, 4096);
  if (probe.includes(0)) return true;
  // stream: true so that a character cut at the probe's end is not counted as broken
  const text = new TextDecoder('utf-8').decode(probe, { stream: true });
  let odd = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0xfffd || (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d)) odd++;
  }
  // one broken line in a text file is a bad row; a tenth of the characters broken is not text
  return odd > 0.1 * text.length;
}

/**
 * Yields every non-blank line of the input as a parsed row or a bad row. Throws only when the input as a whole
 * is unusable: HTTP error, corrupt/truncated gzip, binary data, or no JSON at all in the first lines.
 */
export async function* iterateChatJsonl(input: ChatInput, opts: ReadOptions = {}): AsyncGenerator<ChatLineResult> {
  const src = await openInput(input, opts);
  const progress: ReadProgress = { bytes: 0, totalBytes: src.totalBytes, rows: 0, bad: 0 };
  const counted = (async function* () {
    for await (const c of src.chunks) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
      progress.bytes += c.length;
      yield c;
    }
  })();
  const it = counted[Symbol.asyncIterator]();
  const { head, done } = await peek(it, 2);
  const all = (async function* () {
    if (head.length > 0) yield head;
    if (!done) for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  })();

  const isGzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  let text: AsyncIterable<Uint8Array> = isGzip ? gunzip(all, src.name, opts.decompressor ?? 'auto') : all;

  // Binary check on the first decompressed bytes, before any line is judged.
  const textIt = text[Symbol.asyncIterator]();
  const first = await peek(textIt, 4096);
  if (first.head.length === 0) throw new Error(`${src.name}: empty ${isGzip ? 'gzip ' : ''}file, no rows`);
  if (looksBinary(first.head)) {
    throw new Error(
      `${src.name}: not a chat JSONL file: ${isGzip ? 'the decompressed data' : 'it is neither gzip nor UTF-8 text and'} ` +
        `starts with bytes ${hex(first.head)}${isGzip ? ' and is not UTF-8 text' : ''}`,
    );
  }
  text = (async function* () {
    yield first.head;
    if (!first.done) for (;;) {
      const r = await textIt.next();
      if (r.done) return;
      yield r.value;
    }
  })();

  const decoder = new TextDecoder('utf-8', { fatal: true });
  let line = 0;
  let nonBlank = 0;
  let anyJson = false;
  let firstProblem: BadRow | null = null;
  for await (const bytes of byteLines(text, opts.maxLineBytes)) {
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
    line++;
    if (!(bytes instanceof Uint8Array)) {
      nonBlank++;
      const result: BadRow = { line, reason: `line is ${bytes.overlong} bytes long, more than the ${opts.maxLineBytes ?? MAX_LINE_BYTES} a row may have` };
      firstProblem ??= result;
      progress.bad++;
      if (!anyJson && nonBlank >= NOT_JSONL_AFTER) {
        throw new Error(`${src.name}: not a JSONL file: none of the first ${plural(nonBlank, 'line')} is JSON (line ${firstProblem.line}: ${firstProblem.reason})`);
      }
      yield { ok: false, bad: result };
      continue;
    }
    if (isBlank(bytes)) continue;
    nonBlank++;
    let s: string;
    let result: ChatRow | BadRow;
    try {
      s = decoder.decode(bytes);
      if (line === 1 && s.charCodeAt(0) === 0xfeff) s = s.slice(1); // BOM
      result = parseChatLine(s, line);
    } catch {
      result = { line, reason: 'not valid UTF-8' };
    }
    if (isBadRow(result)) {
      if (!result.reason.startsWith('invalid JSON') && result.reason !== 'not valid UTF-8') anyJson = true;
      firstProblem ??= result;
      progress.bad++;
      if (!anyJson && nonBlank >= NOT_JSONL_AFTER) {
        throw new Error(`${src.name}: not a JSONL file: none of the first ${plural(nonBlank, 'line')} is JSON (line ${firstProblem.line}: ${firstProblem.reason})`);
      }
      yield { ok: false, bad: result };
    } else {
      anyJson = true;
      progress.rows++;
      yield { ok: true, row: result };
    }
    if (opts.onProgress && (progress.rows + progress.bad) % 256 === 0) opts.onProgress({ ...progress });
  }
  if (progress.rows === 0) {
    throw new Error(
      `${src.name}: no valid chat rows in ${plural(line, 'line')}` +
        (firstProblem ? ` (first problem, line ${firstProblem.line}: ${firstProblem.reason})` : ''),
    );
  }
  opts.onProgress?.({ ...progress });
}

/** Reads the whole input; bad rows are collected in `bad`, never thrown. */
export async function readChatJsonl(input: ChatInput, opts: ReadOptions = {}): Promise<ChatDataset> {
  const rows: ChatRow[] = [];
  const bad: BadRow[] = [];
  let lines = 0;
  let name = opts.name;
  if (name === undefined) {
    if (typeof input === 'string' || input instanceof URL) name = String(input);
    else if (typeof Blob !== 'undefined' && input instanceof Blob) name = (input as { name?: string }).name ?? 'input';
    else name = 'input';
  }
  for await (const r of iterateChatJsonl(input, { ...opts, name })) {
    if (r.ok) {
      rows.push(r.row);
      lines = r.row.line;
    } else {
      bad.push(r.bad);
      lines = r.bad.line;
    }
  }
  return { name, rows, bad, lines };
}

/** "3 bad rows skipped: line 12 (invalid JSON …), line 40 (no assistant turn), …" for the UI and logs. */
export function describeBadRows(bad: BadRow[], max = 5): string {
  if (bad.length === 0) return 'no bad rows';
  const shown = bad.slice(0, max).map((b) => `line ${b.line} (${b.reason})`).join(', ');
  return `${plural(bad.length, 'bad row')} skipped: ${shown}${bad.length > max ? ', …' : ''}`;
}
