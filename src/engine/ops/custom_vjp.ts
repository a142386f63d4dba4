// CustomVjp: a composite (several ops in the forward) whose gradient is written by hand instead of walked through
// its parts. On a GPU each kernel costs a roughly fixed dispatch time, and the parts' VJPs are long: an RMS norm's
// five forward ops differentiate into ~15 kernels, its closed form into 6 (Builder.rmsNorm).
//
// The node's inputs are the composite's output y, then the values its rule differentiates; it is written to ONNX as
// Identity(y) (onnxruntime drops it). The autodiff asks the rule for those inputs' gradients and, since y itself gets
// none, never walks the composite's parts.

import type { Node, Value } from '../ir';
import type { OpDef } from './op_def';

/** The gradient of each differentiated input, given the gradient g of the composite's output. */
export type CustomVjpRule = (g: Value) => (Value | null)[];

/** The rule of each CustomVjp node (a function is not an ONNX attribute, so it lives beside the node). */
export const CUSTOM_VJP_RULES = new WeakMap<Node, CustomVjpRule>();

export const CUSTOM_VJP_OPS = {
  CustomVjp: {
    onnxType: 'Identity',
    onnxInputs: 1,
    infer: (_b, ins) => [{ dtype: ins[0]!.dtype, shape: ins[0]!.shape }],
    nondiff: [0],
    vjp: (_b, n, [g]) => {
      const rule = CUSTOM_VJP_RULES.get(n);
      if (!rule) throw new Error(`CustomVjp ${n.name}: no rule (a CustomVjp node is made by Builder.withVjp only)`);
      const gins = g ? rule(g) : [];
      if (g && gins.length !== n.inputs.length - 1) throw new Error(`CustomVjp ${n.name}: its rule gave ${gins.length} gradients for ${n.inputs.length - 1} inputs`);
      return [null, ...n.inputs.slice(1).map((_x, k) => gins[k] ?? null)];
    },
  },
} satisfies Record<string, OpDef>;
