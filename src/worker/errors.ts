// Errors cross the worker boundary as {message, where}: the message says what went wrong in the user's terms,
// `where` names the job and the phase it was in, so a report from a student points at the right layer.

import type { WireError } from './protocol';

export function isAbort(e: unknown): boolean {
  return (e as { name?: string } | null)?.name === 'AbortError';
}

/** True for the messages WebGPU and onnxruntime give when the GPU device went away (driver reset, sleep, OOM). */
export function looksLikeDeviceLoss(message: string): boolean {
  return /device (was |is )?lost|GPUDevice.*lost|lost.*device|DXGI_ERROR_DEVICE|context lost/i.test(message);
}

export const DEVICE_LOST_HINT =
  'The GPU device was lost (the driver reset, the tab was in the background too long, or memory ran out). ' +
  'Your runs, checkpoints and vectors are saved in this browser: reload the page and load the model again to continue.';

export function toWireError(e: unknown, where: string): WireError {
  if (isAbort(e)) return { message: 'cancelled', where, name: 'AbortError' };
  const message = e instanceof Error ? e.message : typeof e === 'string' ? e : JSON.stringify(e);
  if (looksLikeDeviceLoss(message)) return { message: `${DEVICE_LOST_HINT} (${message})`, where, name: 'DeviceLost' };
  return { message: message || 'unknown error', where };
}

export function abortError(): DOMException {
  return new DOMException('cancelled', 'AbortError');
}
