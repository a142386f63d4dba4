// The graph IR: values (typed, shaped edges), nodes (one ONNX op each) and a graph that owns them.
// Dimensions are numbers or symbols (strings such as 'B', 'T'); a symbolic dim is never 1, which is what lets
// the autodiff know statically which axes a broadcast expanded.

import type { DType, TypedArray } from './dtype';

export type Dim = number | string;
export type Shape = Dim[];

/** An attribute's value; its ONNX type (INT vs FLOAT, ...) comes from the op's declaration, not from the value. */
export type AttrValue = number | number[] | string | string[] | TensorData;

export interface TensorData {
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

export class Value {
  /** producer node, or undefined for graph inputs, weights and initializers */
  producer: Node | undefined;
  constructor(
    readonly id: number,
    public name: string,
    readonly dtype: DType,
    readonly shape: Shape,
  ) {}
  get rank(): number {
    return this.shape.length;
  }
  toString(): string {
    return `${this.name}:${this.dtype}[${this.shape.join(',')}]`;
  }
}

export class Node {
  constructor(
    readonly id: number,
    readonly op: string,
    readonly domain: string,
    readonly inputs: (Value | null)[],
    readonly outputs: Value[],
    readonly attrs: Record<string, AttrValue>,
    readonly name: string,
  ) {}
}

export type InputKind = 'input' | 'weight';

export interface GraphInput {
  value: Value;
  kind: InputKind;
  /** for weights: the key of the tensor in the WeightStore that feeds it */
  key?: string;
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: GraphInput[] = [];
  readonly initializers = new Map<Value, TensorData>();
  readonly outputs: Value[] = [];
  private nextId = 0;
  private names = new Set<string>();
  private symCount = 0;

  constructor(readonly name = 'steerlab') {}

  /** A fresh unique symbolic dimension, for shapes only known at run time. */
  freshDim(hint = 'd'): string {
    return `${hint}_${this.symCount++}`;
  }

  private uniqueName(base: string): string {
    let n = base.replace(/[^A-Za-z0-9_./:-]/g, '_');
    if (this.names.has(n)) {
      let i = 1;
      while (this.names.has(`${n}_${i}`)) i++;
      n = `${n}_${i}`;
    }
    this.names.add(n);
    return n;
  }

  newValue(dtype: DType, shape: Shape, name?: string): Value {
    const id = this.nextId++;
    return new Value(id, this.uniqueName(name ?? `t${id}`), dtype, shape);
  }

  /** A runtime input (token ids, masks, the steering vector, ...). */
  input(name: string, dtype: DType, shape: Shape): Value {
    if (this.names.has(name)) throw new Error(`graph already has a value named ${name}`);
    const v = this.newValue(dtype, shape, name);
    this.inputs.push({ value: v, kind: 'input' });
    return v;
  }

  /**
   * A model weight. Weights are graph inputs fed from a shared WeightStore, so that every graph built over
   * one model uses one copy of them (on WebGPU: one GPU buffer per weight however many sessions).
   */
  weight(key: string, dtype: DType, shape: number[]): Value {
    const existing = this.inputs.find((i) => i.kind === 'weight' && i.key === key);
    if (existing) return existing.value;
    const v = this.newValue(dtype, shape, key);
    this.inputs.push({ value: v, kind: 'weight', key });
    return v;
  }

  /** A constant baked into the ONNX file (small tables: rope, masks, scalars). */
  constant(t: TensorData, name?: string): Value {
    const v = this.newValue(t.dtype, t.shape, name ?? 'const');
    this.initializers.set(v, t);
    return v;
  }

  addNode(op: string, domain: string, inputs: (Value | null)[], outTypes: { dtype: DType; shape: Shape }[], attrs: Record<string, AttrValue>): Node {
    const id = this.nodes.length;
    const outputs = outTypes.map((t) => this.newValue(t.dtype, t.shape, `${op}_${id}${outTypes.length > 1 ? '' : ''}`));
    const node = new Node(id, op, domain, inputs, outputs, attrs, `${op}_${id}`);
    for (const o of outputs) o.producer = node;
    this.nodes.push(node);
    return node;
  }

  /** Declare a graph output under a stable name (the name ORT returns it under). */
  output(v: Value, name?: string): Value {
    if (name && v.name !== name) {
      if (this.names.has(name)) throw new Error(`graph already has a value named ${name}`);
      this.names.delete(v.name);
      v.name = name;
      this.names.add(name);
    }
    if (this.inputs.some((i) => i.value === v) || this.initializers.has(v)) {
      throw new Error(`output ${v.name} is a graph input; wrap it in an Identity first`);
    }
    if (!this.outputs.includes(v)) this.outputs.push(v);
    return v;
  }

  inputNamed(name: string): GraphInput | undefined {
    return this.inputs.find((i) => i.value.name === name);
  }

  get weights(): GraphInput[] {
    return this.inputs.filter((i) => i.kind === 'weight');
  }
}
