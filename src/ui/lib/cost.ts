// What a sweep will cost, from what this browser measured: seconds per point of each kind of sweep for a model
// and sample size (the first point of a job also pays for caching activations, kept apart as setup time).
// Estimates are shown before a sweep starts; with nothing measured yet the panel says so instead of guessing.

import { loadSetting, saveSetting } from '../storage/local';
import { formatDuration, plural } from './format';

export interface Timing {
  /** seconds per point once the activations are cached */
  perPoint: number;
  /** seconds before the first point (compiling, caching activations) */
  setup: number;
  points: number;
  at: string;
}

let timings: Record<string, Timing> = loadSetting<Record<string, Timing>>('timings', {});

export const timingKey = (kind: string, model: string, size: number | string) => `${kind}|${model}|${size}`;

export function getTiming(key: string): Timing | undefined {
  return timings[key];
}

/** Records a job's point times: t0 when it started, stamps when each point arrived (ms). */
export function recordTiming(key: string, t0: number, stamps: number[]): void {
  if (stamps.length < 2) return;
  const perPoint = (stamps.at(-1)! - stamps[0]!) / (stamps.length - 1) / 1000;
  const setup = Math.max(0, (stamps[0]! - t0) / 1000 - perPoint);
  timings = { ...timings, [key]: { perPoint, setup, points: stamps.length, at: new Date().toISOString() } };
  saveSetting('timings', timings);
}

/** "about 12 min on this device (0.8 s a point, measured)" or a sentence saying it is not known yet. */
export function costText(points: number, t: Timing | undefined): string {
  if (!t) return `${plural(points, 'point')}; the time per point is measured on the first sweep on this model and shown here next time.`;
  const sec = t.setup + points * t.perPoint;
  return `${plural(points, 'point')}, about ${formatDuration(sec)} on this device (${t.perPoint < 10 ? t.perPoint.toFixed(2) : t.perPoint.toFixed(0)} s a point, measured earlier)`;
}
