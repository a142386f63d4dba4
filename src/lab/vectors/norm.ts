// The lab's one vector norm: ‖v‖₂ accumulated in float64 (a float32 sum of 4864 squares loses digits the UI shows).
// No engine imports, so the page uses it too.

/** ‖v‖₂, or ‖scale·v‖₂ = |scale|·‖v‖₂ (scale: α, for the effective norm of a raw vector). */
export function vectorNorm(v: ArrayLike<number>, scale = 1): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.abs(scale) * Math.sqrt(s);
}
