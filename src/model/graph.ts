/**
 * The layer graph the planner understands: a DAG of nodes in topological order, each with its op
 * kind, fully resolved attributes (padding is explicit numbers, never 'same'), shapes without the
 * batch dimension ([H, W, C] for images, [N] for vectors), FLOPs and weight references.
 */

/** A shape without the batch dimension: [H, W, C] or [N]. */
export type Shape = readonly number[];

/** Rows/columns of padding around a feature map, in elements. */
export interface Padding2d {
  readonly top: number;
  readonly bottom: number;
  readonly left: number;
  readonly right: number;
}

/**
 * How a padded cell takes part in a window op: `zero` for convolutions (a zero input), `excluded`
 * for pooling (ignored: -inf for max, left out of the count for average, as TF.js does).
 */
export type PaddingFill = 'zero' | 'excluded';

/** Geometry of a sliding-window op over [H, W]. */
export interface Window2d {
  /** [kh, kw] taps. */
  readonly kernel: readonly [number, number];
  /** [sh, sw] in input elements. */
  readonly strides: readonly [number, number];
  /** [dh, dw]; the effective extent of the kernel is d·(k − 1) + 1. */
  readonly dilation: readonly [number, number];
  /** Resolved leading/trailing padding ('same' is turned into numbers when lowering). */
  readonly padding: Padding2d;
  readonly paddingFill: PaddingFill;
}

/** Activations the reference executor and the runtime know how to apply element-wise. */
export type ActivationKind =
  | 'linear'
  | 'relu'
  | 'relu6'
  | 'leakyRelu'
  | 'elu'
  | 'sigmoid'
  | 'tanh'
  | 'softmax'
  | 'swish';

/** An activation with its parameters. */
export interface Activation {
  readonly kind: ActivationKind;
  /** Negative slope of leakyRelu; 0 otherwise. */
  readonly alpha: number;
}

export interface InputAttrs { readonly op: 'input' }
export interface Conv2dAttrs {
  readonly op: 'conv2d';
  readonly window: Window2d;
  readonly filters: number;
  readonly useBias: boolean;
  readonly activation: Activation;
}
export interface DepthwiseConv2dAttrs {
  readonly op: 'depthwiseConv2d';
  readonly window: Window2d;
  readonly depthMultiplier: number;
  readonly useBias: boolean;
  readonly activation: Activation;
}
export interface SeparableConv2dAttrs {
  readonly op: 'separableConv2d';
  /** Window of the depthwise step; the pointwise step is 1×1. */
  readonly window: Window2d;
  readonly depthMultiplier: number;
  readonly filters: number;
  readonly useBias: boolean;
  readonly activation: Activation;
}
export interface BatchNormAttrs {
  readonly op: 'batchNorm';
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
}
export interface ActivationAttrs { readonly op: 'activation'; readonly activation: Activation }
export interface ZeroPadding2dAttrs { readonly op: 'zeroPadding2d'; readonly padding: Padding2d }
export interface Pool2dAttrs { readonly op: 'maxPool2d' | 'avgPool2d'; readonly window: Window2d }
export interface GlobalAvgPool2dAttrs { readonly op: 'globalAvgPool2d' }
export interface AddAttrs { readonly op: 'add' }
export interface ConcatAttrs { readonly op: 'concat'; /** Axis in the batchless shape. */ readonly axis: number }
export interface FlattenAttrs { readonly op: 'flatten' }
export interface ReshapeAttrs { readonly op: 'reshape'; readonly targetShape: Shape }
export interface DropoutAttrs { readonly op: 'dropout'; readonly rate: number }
export interface SoftmaxAttrs { readonly op: 'softmax'; readonly axis: number }
export interface DenseAttrs {
  readonly op: 'dense';
  readonly units: number;
  readonly useBias: boolean;
  readonly activation: Activation;
}
/** A layer this project does not model; the planner leaves it to the owner. */
export interface OpaqueAttrs { readonly op: 'opaque'; readonly className: string }

/** Attributes, discriminated by `op`. */
export type NodeAttrs =
  | InputAttrs
  | Conv2dAttrs
  | DepthwiseConv2dAttrs
  | SeparableConv2dAttrs
  | BatchNormAttrs
  | ActivationAttrs
  | ZeroPadding2dAttrs
  | Pool2dAttrs
  | GlobalAvgPool2dAttrs
  | AddAttrs
  | ConcatAttrs
  | FlattenAttrs
  | ReshapeAttrs
  | DropoutAttrs
  | SoftmaxAttrs
  | DenseAttrs
  | OpaqueAttrs;

export type OpKind = NodeAttrs['op'];

/**
 * How a node's output rows/columns depend on its input rows/columns:
 * - `window`: a sliding window (conv, depthwise, separable, pooling, zero padding);
 * - `pointwise`: output cell (r, c) depends only on input cells (r, c) (BN, activations, add, concat);
 * - `global`: needs the whole map (flatten, dense, global pooling, reshape, opaque layers).
 */
export type SpatialRole = 'window' | 'pointwise' | 'global';

/** A weight tensor of a node, named as TF.js names it (`<layer>/kernel`). */
export interface WeightRef {
  readonly name: string;
  readonly shape: Shape;
}

export interface GraphNode {
  /** Index in `ModelGraph.nodes` (which is in topological order). */
  readonly id: number;
  /** The Keras layer name. */
  readonly name: string;
  readonly attrs: NodeAttrs;
  /** Producer node ids, in the layer's argument order. */
  readonly inputs: readonly number[];
  readonly inputShapes: readonly Shape[];
  readonly outputShape: Shape;
  /** Multiply-adds count twice (ALGORITHMS.md §2: conv = 2·Ho·Wo·Co·Kh·Kw·Ci). */
  readonly flops: number;
  readonly weights: readonly WeightRef[];
  readonly spatialRole: SpatialRole;
}

export interface ModelGraph {
  readonly name: string;
  /** Topologically ordered: every node's inputs have smaller ids. */
  readonly nodes: readonly GraphNode[];
  readonly inputId: number;
  readonly outputId: number;
}

/** The window of a window-role node, treating zero padding as a 1×1 identity window. */
export function nodeWindow(node: GraphNode): Window2d | undefined {
  const attrs = node.attrs;
  switch (attrs.op) {
    case 'conv2d':
    case 'depthwiseConv2d':
    case 'separableConv2d':
    case 'maxPool2d':
    case 'avgPool2d':
      return attrs.window;
    case 'zeroPadding2d':
      return {
        kernel: [1, 1],
        strides: [1, 1],
        dilation: [1, 1],
        padding: attrs.padding,
        paddingFill: 'zero',
      };
    default:
      return undefined;
  }
}

/** Ids of the nodes that consume each node's output. */
export function consumersOf(graph: ModelGraph): readonly (readonly number[])[] {
  const consumers: number[][] = graph.nodes.map(() => []);
  for (const node of graph.nodes) {
    for (const input of node.inputs) consumers[input]?.push(node.id);
  }
  return consumers;
}

/** Number of float32 elements in a shape. */
export function shapeSize(shape: Shape): number {
  return shape.reduce((product, dim) => product * dim, 1);
}
