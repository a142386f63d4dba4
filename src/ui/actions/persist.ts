// Every write to this browser's storage goes through keep(): when it fails (the quota is full, IndexedDB is
// blocked, a private window) the user is told what was not saved and why, and offered it as a download, so
// that nothing is lost silently. The notice goes away once the same thing saves again.

import { downloadBytes } from '../lib/download';
import { storageProblem } from '../storage/idb';
import { dismiss, notify } from '../store/store';

const open = new Map<string, number>();

/** JSON with typed arrays written as plain arrays (a Float32Array would otherwise become {"0": …}). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as Float32Array) : v), 1);
}

/**
 * Runs a storage write. `what` names the thing in a sentence ("the efficiency sweep"), `file` the download's
 * name, `payload` what to download when the write fails.
 */
export async function keep(what: string, file: string, write: () => Promise<unknown>, payload: () => unknown): Promise<boolean> {
  try {
    await write();
    const id = open.get(what);
    if (id !== undefined) {
      dismiss(id);
      open.delete(what);
    }
    return true;
  } catch (e) {
    const p = storageProblem(e);
    const id = notify('error', `${what[0]!.toUpperCase()}${what.slice(1)} could not be saved: ${p.text}. It stays on this page until you close it; download it to keep it.`, {
      where: 'storage',
      action: {
        label: 'Download',
        run: () => {
          const p = payload();
          // bytes go as they are (a vector as safetensors, which the library imports again); anything else as JSON
          if (p instanceof Uint8Array) downloadBytes(p, file);
          else downloadBytes(toJson(p), file, 'application/json');
        },
      },
    });
    open.set(what, id);
    return false;
  }
}
