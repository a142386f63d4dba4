// Linear interpolation on a sampled curve, for the sliders' read-outs between evaluated points.
export function interpolate(xs: number[], ys: number[], x: number): number | undefined {
  if (!xs.length) return undefined;
  const pts = xs.map((v, i) => [v, ys[i]!] as const).sort((a, b) => a[0] - b[0]);
  if (x <= pts[0]![0]) return x === pts[0]![0] ? pts[0]![1] : undefined;
  for (let i = 1; i < pts.length; i++) {
    const [x1, y1] = pts[i]!;
    const [x0, y0] = pts[i - 1]!;
    if (x <= x1) return x1 === x0 ? y1 : y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
  }
  return undefined;
}
