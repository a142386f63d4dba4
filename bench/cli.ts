// What every bench script needs: `--name value` options and the median of timed runs after a warm-up.

/** the value after `--name` on the command line, or `def` */
export function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

/** median wall time (ms) of `reps` runs of `fn`, after one warm-up run (kernel compilation, allocations) */
export async function medianMs(fn: () => Promise<unknown>, reps: number): Promise<number> {
  await fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(ts.length / 2)]!;
}
