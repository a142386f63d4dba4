// What one op declaration holds: its output types (the forward, as the ONNX op it becomes), the ONNX types of its
// attributes, and, beside them, its vector-Jacobian product written with the same builder. The declarations are
// gathered into one typed table in table.ts; the autodiff knows nothing else.

import type { DType } from '../dtype';
import type { AttrValue, Node, Shape, Value } from '../ir';
import type { Builder } from '../builder';

export interface OutType {
  dtype: DType;
  shape: Shape;
}

/** ONNX AttributeProto types an op declares for its attributes (serialisation writes exactly these). */
export type AttrType = 'int' | 'float' | 'ints' | 'floats' | 'string' | 'strings' | 'tensor';

export type VjpRule = (b: Builder, node: Node, gouts: (Value | null)[]) => (Value | null)[];

export interface OpDef {
  /** '' (absent) for the default domain, 'com.microsoft' for contrib ops */
  domain?: string;
  /** the ONNX op_type it is written as, when it differs from its name in the table (StopGradient is an Identity) */
  onnxType?: string;
  /** how many of its inputs the ONNX node takes, when the IR node carries more (CustomVjp's differentiated inputs) */
  onnxInputs?: number;
  /** the ONNX type of every attribute the op may carry; an undeclared attribute is an error when serialising */
  attrs?: Record<string, AttrType>;
  /** output types from input types and attributes */
  infer(b: Builder, inputs: (Value | null)[], attrs: Record<string, AttrValue>): OutType[];
  /**
   * Given the gradients of the outputs (null = zero), return the gradient of each input (null = none / not
   * differentiable). Absent: the op is not differentiable (integer ops, masks, shape arithmetic).
   */
  vjp?: VjpRule;
  /** inputs that never carry gradient even when the op has a VJP (indices, shapes, masks) */
  nondiff?: number[];
}

/** A declaration that must carry a VJP (the ops table.ts lists as differentiable). */
export type DiffOpDef = OpDef & { vjp: VjpRule };
