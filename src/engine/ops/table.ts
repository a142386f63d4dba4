// The engine's op set as one typed table. Every op the builder can emit is named in exactly one of the two
// unions below, and `OPS` must hold a declaration for each — with a VJP for every differentiable one. A name
// without a declaration, a differentiable op without a VJP, or a declaration the unions do not name is a compile
// error, not a run-time "op is not defined" (the way jax-js keeps its per-primitive rule tables complete).
//
// Adding an op: write its declaration in the ops file it belongs to (or a new one exporting `FOO_OPS = {...}
// satisfies Record<string, OpDef>`), add its name to DiffOpName (if it has a VJP) or NonDiffOpName, and spread
// that file's table into OPS.

import { ELEMENTWISE_OPS } from './elementwise';
import { LINALG_OPS } from './linalg';
import { CUSTOM_VJP_OPS } from './custom_vjp';
import { FUSED_OPS } from './fused';
import { QUANT_OPS } from './quant';
import { REDUCE_OPS } from './reduce';
import type { DiffOpDef, OpDef } from './op_def';
import { SELECT_OPS } from './select';
import { SHAPE_OPS } from './shape_ops';

/** Ops with a vector-Jacobian product. */
export type DiffOpName =
  | 'Add' | 'Sub' | 'Mul' | 'Div' | 'Pow' | 'Neg' | 'Exp' | 'Log' | 'Sqrt' | 'Reciprocal' | 'Tanh' | 'Sigmoid'
  | 'Cos' | 'Sin' | 'Identity' | 'Where' | 'Cast'
  | 'MatMul' | 'Transpose' | 'Gemm'
  | 'ReduceSum' | 'ReduceMean' | 'ReduceMax' | 'Softmax' | 'LogSoftmax'
  | 'Reshape' | 'Unsqueeze' | 'Squeeze' | 'Concat' | 'Split' | 'Slice' | 'Gather' | 'GatherElements' | 'Expand'
  | 'MatMulNBits' | 'ReduceLogSumExp' | 'StopGradient' | 'CustomVjp' | 'RotaryEmbedding';

/** Ops gradients never flow through (comparisons, masks, shape arithmetic, integer and inference-only ops). */
export type NonDiffOpName =
  | 'Floor' | 'Equal' | 'Less' | 'LessOrEqual' | 'Greater' | 'And' | 'Not'
  | 'ReduceProd'
  | 'Shape' | 'Pad' | 'ScatterElements' | 'ConstantOfShape' | 'Range' | 'CumSum'
  | 'GatherBlockQuantized' | 'TopK' | 'ArgMax';

export type OpName = DiffOpName | NonDiffOpName;

type OpTable = { [K in DiffOpName]: DiffOpDef } & { [K in NonDiffOpName]: OpDef };

export const OPS = {
  ...ELEMENTWISE_OPS,
  ...LINALG_OPS,
  ...REDUCE_OPS,
  ...SHAPE_OPS,
  ...QUANT_OPS,
  ...SELECT_OPS,
  ...FUSED_OPS,
  ...CUSTOM_VJP_OPS,
} satisfies OpTable;

// spreads escape excess-property checks: a declaration the unions do not name fails here instead
type Unnamed = Exclude<keyof typeof OPS, OpName>;
const everyDeclarationNamed: [Unnamed] extends [never] ? true : Unnamed = true;
void everyDeclarationNamed;

export function opDef(name: OpName): OpDef {
  return OPS[name];
}

/** The op an IR node runs (nodes hold plain strings once built). */
export function nodeOpDef(op: string): OpDef {
  const def = (OPS as Record<string, OpDef>)[op];
  if (!def) throw new Error(`op ${op} is not in the engine's op table`);
  return def;
}

export function allOps(): [OpName, OpDef][] {
  return Object.entries(OPS) as [OpName, OpDef][];
}
