// The vector library: save, rename, delete, and the ways in and out (share links, GGUF, safetensors, reports).
// Imports validate everything before anything is stored, so a bad file or link leaves the library as it was.

import { decodeShareFragment, encodeShareFragment, shareEncodingOf } from '../../lab/vectors/share';
import { effectiveNorm, type SteeringVector } from '../../lab/vectors/vector';
import { deleteVector as idbDelete, listVectors, putVector } from '../storage/idb';
import { notify, useLab } from '../store/store';
import type { StoredVector } from '../store/types';
import { errorText } from './jobs';
import { safetensorsBytes } from '../lib/vector_files';
import { fileStem } from '../lib/download';
import { keep } from './persist';

function newId(): string {
  return `v-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export async function loadLibrary(): Promise<void> {
  useLab.setState({ vectors: await listVectors() });
}

export async function saveVector(v: Omit<SteeringVector, 'createdAt'> & { createdAt?: string; how: string }): Promise<StoredVector> {
  const stored: StoredVector = {
    ...v,
    data: Float32Array.from(v.data),
    createdAt: v.createdAt ?? new Date().toISOString(),
    id: newId(),
    norm: 0,
  };
  stored.norm = effectiveNorm(stored);
  // in the library either way; a failed write is reported with the vector as a download
  useLab.setState((s) => ({ vectors: [stored, ...s.vectors] }));
  await keep(`the vector “${stored.name}”`, `${fileStem(stored.name)}.safetensors`, () => putVector(stored), () => safetensorsBytes(stored));
  return stored;
}

export async function renameVector(id: string, name: string): Promise<void> {
  const v = useLab.getState().vectors.find((x) => x.id === id);
  if (!v || !name.trim()) return;
  const next = { ...v, name: name.trim() };
  useLab.setState((s) => ({ vectors: s.vectors.map((x) => (x.id === id ? next : x)) }));
  await keep(`the vector “${next.name}”`, `${fileStem(next.name)}.safetensors`, () => putVector(next), () => safetensorsBytes(next));
}

export async function removeVector(id: string): Promise<void> {
  await idbDelete(id);
  useLab.setState((s) => ({ vectors: s.vectors.filter((x) => x.id !== id), studyIds: s.studyIds.filter((x) => x !== id) }));
}

/** The page URL with the vector in its fragment (the fragment never reaches a server). */
export function shareLink(v: SteeringVector): { url: string; encoding: 'f16' | 'q8'; chars: number } {
  const frag = encodeShareFragment(v);
  const base = `${location.origin}${location.pathname}${location.search}`;
  return { url: base + frag, encoding: shareEncodingOf(frag), chars: frag.length };
}

function sameVector(a: SteeringVector, b: SteeringVector): boolean {
  if (a.modelId !== b.modelId || a.layer !== b.layer || a.data.length !== b.data.length || a.name !== b.name) return false;
  for (let i = 0; i < a.data.length; i++) if (Math.abs(a.alpha * a.data[i]! - b.alpha * b.data[i]!) > 1e-6 * (1 + Math.abs(a.alpha * a.data[i]!))) return false;
  return true;
}

/** Imports vectors that passed validation; an identical one already in the library is not stored twice. */
export async function importVectors(vs: SteeringVector[], how: string): Promise<StoredVector[]> {
  const out: StoredVector[] = [];
  for (const v of vs) {
    const existing = useLab.getState().vectors.find((x) => sameVector(x, v));
    out.push(existing ?? (await saveVector({ ...v, how })));
  }
  return out;
}

/**
 * Opens a share link found in the page's fragment: the vector goes into the library and the user is offered its
 * model. The fragment is then removed so that a reload does not import it again. Bad links say what is wrong.
 */
export async function importShareFromLocation(offerModel: (repo: string) => void): Promise<StoredVector | null> {
  const hash = location.hash;
  if (!hash || !/[#&]v=/.test(hash)) return null;
  history.replaceState(null, '', `${location.pathname}${location.search}`);
  let vec: SteeringVector;
  try {
    vec = decodeShareFragment(hash);
  } catch (e) {
    // one plain sentence: the reason without the parser's "share link:" prefix
    const why = errorText(e).replace(/^share link:\s*/i, '').replace(/\.$/, '');
    notify('error', `This share link could not be opened (${why}), and nothing in your library was changed.`);
    return null;
  }
  const [stored] = await importVectors([vec], `shared link (${shareEncodingOf(hash)})`);
  const loaded = useLab.getState().model.info?.repo === vec.modelId;
  notify('success', `Imported “${stored!.name}” (${vec.modelId}, layer ${vec.layer}, ‖αv‖ ${stored!.norm.toFixed(2)}) into your library.`, {
    where: 'share link',
    action: loaded ? undefined : { label: `Load ${vec.modelId}`, run: () => offerModel(vec.modelId) },
  });
  useLab.setState({ panel: 'library' });
  return stored!;
}
