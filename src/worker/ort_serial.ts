// onnxruntime-web's WebGPU EP refuses to create two sessions at once ("another WebGPU EP inference session is
// being created"), and some lab code compiles graphs in parallel (Promise.all). Creating them one after the
// other costs nothing on wasm and makes WebGPU work: every InferenceSession.create of this ORT goes through one
// queue.

import type { Ort } from '../engine/runtime/backend';

const PATCHED = Symbol.for('steerlab.serialCreate');

export function serializeSessionCreation(ort: Ort): void {
  const IS = ort.InferenceSession as unknown as { create: (...a: unknown[]) => Promise<unknown>; [PATCHED]?: true };
  if (IS[PATCHED]) return;
  const original = IS.create.bind(IS);
  let tail: Promise<unknown> = Promise.resolve();
  IS.create = (...args: unknown[]) => {
    const next = tail.then(() => original(...args));
    tail = next.catch(() => {});
    return next;
  };
  IS[PATCHED] = true;
}
