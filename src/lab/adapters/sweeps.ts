// The efficiency sweep for adapters also reports ‖ΔW‖_F: scaling θ by s scales every factor, so the weight
// update B·A scales by s², and loss against ‖θ‖ and loss against ‖ΔW‖ are different curves (the issue asks for
// both). Stability, FineWeb KL and PCA use sweeps.ts and pca.ts unchanged on θ.

import type { ModelConfig } from '../../models/config';
import { vectorNorm as norm } from '../vectors/norm';
import { efficiencySweep, type EfficiencyPoint, type LossEvaluator } from '../sweeps/sweeps';
import { deltaWNorm, type AdapterShape } from './lora';

export interface AdapterEfficiencyPoint extends EfficiencyPoint {
  /** ‖ΔW‖_F of the rescaled adapter, √Σ_modules ‖scale·B·A‖²_F */
  deltaW: number;
}

export async function adapterEfficiencySweep(
  ev: LossEvaluator,
  cfg: ModelConfig,
  shape: AdapterShape,
  theta: Float32Array,
  opts: Parameters<typeof efficiencySweep>[2] = {},
): Promise<{ byScale: AdapterEfficiencyPoint[]; byNorm: AdapterEfficiencyPoint[] }> {
  const n0 = norm(theta);
  const dw0 = deltaWNorm(cfg, shape, theta);
  const withDw = (p: EfficiencyPoint): AdapterEfficiencyPoint => ({ ...p, deltaW: n0 > 0 ? dw0 * (p.norm / n0) ** 2 : 0 });
  // the points streamed to onPoint carry ‖ΔW‖ too (the app keeps the streamed points, not the result)
  const onPoint = opts.onPoint;
  const r = await efficiencySweep(ev, theta, { ...opts, ...(onPoint ? { onPoint: (p: EfficiencyPoint, i: number, n: number) => onPoint(withDw(p), i, n) } : {}) });
  return { byScale: r.byScale.map(withDw), byNorm: r.byNorm.map(withDw) };
}
