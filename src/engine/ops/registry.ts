// Every op the engine emits is declared once: its output types (the forward, as the ONNX op it becomes) and,
// beside it, its vector-Jacobian product written with the same builder. The autodiff knows nothing else.

import type { DType } from '../dtype';
import type { AttrValue, Node, Shape, Value } from '../ir';
import type { Builder } from '../builder';

export interface OutType {
  dtype: DType;
  shape: Shape;
}

export interface OpDef {
  /** ONNX op_type */
  type: string;
  /** '' for the default domain, 'com.microsoft' for contrib ops */
  domain?: string;
  /** the ONNX op_type it is written as, when it differs from `type` (StopGradient is an Identity) */
  onnxType?: string;
  /** output types from input types and attributes */
  infer(b: Builder, inputs: (Value | null)[], attrs: Record<string, AttrValue>): OutType[];
  /**
   * Given the gradients of the outputs (null = zero), return the gradient of each input (null = none / not
   * differentiable). Absent: the op is not differentiable (integer ops, masks, shape arithmetic).
   */
  vjp?(b: Builder, node: Node, gouts: (Value | null)[]): (Value | null)[];
  /** inputs that never carry gradient even when the op has a VJP (indices, shapes, masks) */
  nondiff?: number[];
}

const registry = new Map<string, OpDef>();

export function defineOp(def: OpDef): OpDef {
  const key = `${def.domain ?? ''}:${def.type}`;
  if (registry.has(key)) throw new Error(`op ${key} defined twice`);
  registry.set(key, def);
  return def;
}

export function opDef(type: string, domain = ''): OpDef {
  const d = registry.get(`${domain}:${type}`);
  if (!d) throw new Error(`op ${domain ? domain + '.' : ''}${type} is not defined in the engine`);
  return d;
}

export function allOps(): OpDef[] {
  return [...registry.values()];
}
