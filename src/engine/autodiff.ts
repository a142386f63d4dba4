// Reverse-mode automatic differentiation over the graph IR. grad() appends the backward nodes to the same
// graph: walk the nodes that lie between `wrt` and the loss in reverse creation order (creation order is
// topological), ask each op's VJP for its input gradients, and sum gradients that meet at a value.

import type { Builder } from './builder';
import type { Node, Value } from './ir';
import { nodeOpDef } from './ops/table';

export interface GradOptions {
  /** gradient of the loss with respect to itself; default 1 (the loss must then be a scalar) */
  seed?: Value;
}

export function grad(b: Builder, loss: Value, wrt: Value[], opts: GradOptions = {}): Value[] {
  const nodes = b.g.nodes;
  // values that depend on some `wrt`
  const dependsOnWrt = new Set<Value>(wrt);
  const active: Node[] = [];
  for (const n of nodes) {
    if (n.inputs.some((i) => i && dependsOnWrt.has(i))) {
      for (const o of n.outputs) dependsOnWrt.add(o);
      active.push(n);
    }
  }
  if (!dependsOnWrt.has(loss)) throw new Error(`loss ${loss.name} does not depend on ${wrt.map((w) => w.name).join(', ')}`);
  // of those, the nodes the loss depends on
  const needed = new Set<Value>([loss]);
  const path: Node[] = [];
  for (let i = active.length - 1; i >= 0; i--) {
    const n = active[i]!;
    if (n.outputs.some((o) => needed.has(o))) {
      path.push(n);
      for (const inp of n.inputs) if (inp && dependsOnWrt.has(inp)) needed.add(inp);
    }
  }

  const grads = new Map<Value, Value>();
  if (opts.seed) grads.set(loss, opts.seed);
  else {
    if (loss.rank !== 0) throw new Error(`loss ${loss.name} is not a scalar (shape [${loss.shape}]); pass a seed`);
    grads.set(loss, b.scalar(1, loss.dtype));
  }

  for (const n of path) {
    const gouts = n.outputs.map((o) => grads.get(o) ?? null);
    if (gouts.every((g) => g === null)) continue;
    const def = nodeOpDef(n.op);
    if (!def.vjp) throw new Error(`op ${n.op} (${n.name}) lies between the parameters and the loss but has no VJP`);
    const gins = def.vjp(b, n, gouts);
    n.inputs.forEach((inp, k) => {
      if (!inp || !needed.has(inp) || def.nondiff?.includes(k)) return;
      const gi = gins[k];
      if (!gi) return;
      const prev = grads.get(inp);
      grads.set(inp, prev ? b.add(prev, gi) : gi);
    });
  }

  return wrt.map((w) => {
    const g = grads.get(w);
    if (!g) throw new Error(`no gradient reached ${w.name}`);
    return g;
  });
}
