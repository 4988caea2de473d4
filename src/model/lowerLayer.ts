import type { NodeAttrs, Shape, SpatialRole, WeightRef } from './graph.ts';
import { shapeSize } from './graph.ts';
import type { KerasConfig } from './kerasConfig.ts';
import {
  configBoolean,
  configNumber,
  configPaddingMode,
  configPair,
  configZeroPadding,
  parseActivation,
  requireChannelsLast,
} from './kerasConfig.ts';
import { modelAssert } from './errors.ts';
import { resolveWindow, windowOutputHw } from './windowGeometry.ts';

/** Everything about a layer that does not depend on its position in the graph. */
export interface LoweredLayer {
  readonly attrs: NodeAttrs;
  readonly outputShape: Shape;
  readonly flops: number;
  readonly weights: readonly WeightRef[];
  readonly spatialRole: SpatialRole;
}

interface LayerContext {
  readonly name: string;
  readonly config: KerasConfig;
  readonly inputShapes: readonly Shape[];
  /** Output shape reported by a live model, used for layers this project does not model. */
  readonly knownOutputShape: Shape | undefined;
}

type Lowering = (context: LayerContext) => LoweredLayer;

function imageInput(context: LayerContext): [number, number, number] {
  const shape = context.inputShapes[0];
  modelAssert(context.inputShapes.length === 1 && shape?.length === 3, 'ERR_MODEL_SHAPE', () =>
    `lowerModel: layer '${context.name}' expects one [H, W, C] input, got ${JSON.stringify(context.inputShapes)}`);
  return [shape[0] as number, shape[1] as number, shape[2] as number];
}

function weight(layer: string, suffix: string, shape: Shape): WeightRef {
  return { name: `${layer}/${suffix}`, shape };
}

function opaque(context: LayerContext, className: string): LoweredLayer {
  const shape = context.knownOutputShape;
  modelAssert(shape !== undefined, 'ERR_MODEL_TOPOLOGY', () =>
    `lowerModel: layer '${context.name}' (${className}) is not modelled and no output shape is known; lower the live tf.LayersModel instead of its JSON`);
  return { attrs: { op: 'opaque', className }, outputShape: shape, flops: 0, weights: [], spatialRole: 'global' };
}

function pointwise(context: LayerContext, attrs: NodeAttrs, flopsPerElement = 1): LoweredLayer {
  const shape = context.inputShapes[0] ?? [];
  return { attrs, outputShape: shape, flops: flopsPerElement * shapeSize(shape), weights: [], spatialRole: 'pointwise' };
}

function lowerConv2d(context: LayerContext): LoweredLayer {
  const { name, config } = context;
  requireChannelsLast(config, name);
  const [h, w, cin] = imageInput(context);
  const activation = parseActivation(config['activation']);
  if (activation === undefined) return opaque(context, 'Conv2D');
  const window = resolveWindow(configPaddingMode(config, name), [h, w], configPair(config, name, 'kernel_size'),
    configPair(config, name, 'strides', [1, 1]), configPair(config, name, 'dilation_rate', [1, 1]), 'zero');
  const filters = configNumber(config, name, 'filters');
  const useBias = configBoolean(config, name, 'use_bias', true);
  const [ho, wo] = windowOutputHw(window, [h, w]);
  const weights = [weight(name, 'kernel', [window.kernel[0], window.kernel[1], cin, filters])];
  if (useBias) weights.push(weight(name, 'bias', [filters]));
  return {
    attrs: { op: 'conv2d', window, filters, useBias, activation },
    outputShape: [ho, wo, filters],
    flops: 2 * ho * wo * filters * window.kernel[0] * window.kernel[1] * cin,
    weights,
    spatialRole: 'window',
  };
}

function lowerDepthwise(context: LayerContext, separable: boolean): LoweredLayer {
  const { name, config } = context;
  requireChannelsLast(config, name);
  const [h, w, cin] = imageInput(context);
  const activation = parseActivation(config['activation']);
  if (activation === undefined) return opaque(context, separable ? 'SeparableConv2D' : 'DepthwiseConv2D');
  const window = resolveWindow(configPaddingMode(config, name), [h, w], configPair(config, name, 'kernel_size'),
    configPair(config, name, 'strides', [1, 1]), configPair(config, name, 'dilation_rate', [1, 1]), 'zero');
  const depthMultiplier = configNumber(config, name, 'depth_multiplier', 1);
  const useBias = configBoolean(config, name, 'use_bias', true);
  const [ho, wo] = windowOutputHw(window, [h, w]);
  const depthwiseFlops = 2 * ho * wo * cin * depthMultiplier * window.kernel[0] * window.kernel[1];
  const weights = [weight(name, 'depthwise_kernel', [window.kernel[0], window.kernel[1], cin, depthMultiplier])];
  if (!separable) {
    if (useBias) weights.push(weight(name, 'bias', [cin * depthMultiplier]));
    return {
      attrs: { op: 'depthwiseConv2d', window, depthMultiplier, useBias, activation },
      outputShape: [ho, wo, cin * depthMultiplier],
      flops: depthwiseFlops,
      weights,
      spatialRole: 'window',
    };
  }
  const filters = configNumber(config, name, 'filters');
  weights.push(weight(name, 'pointwise_kernel', [1, 1, cin * depthMultiplier, filters]));
  if (useBias) weights.push(weight(name, 'bias', [filters]));
  return {
    attrs: { op: 'separableConv2d', window, depthMultiplier, filters, useBias, activation },
    outputShape: [ho, wo, filters],
    flops: depthwiseFlops + 2 * ho * wo * cin * depthMultiplier * filters,
    weights,
    spatialRole: 'window',
  };
}

function lowerPool(context: LayerContext, op: 'maxPool2d' | 'avgPool2d'): LoweredLayer {
  const { name, config } = context;
  requireChannelsLast(config, name);
  const [h, w, c] = imageInput(context);
  const poolSize = configPair(config, name, 'pool_size', [2, 2]);
  const window = resolveWindow(configPaddingMode(config, name), [h, w], poolSize,
    configPair(config, name, 'strides', poolSize), [1, 1], 'excluded');
  const [ho, wo] = windowOutputHw(window, [h, w]);
  return {
    attrs: { op, window },
    outputShape: [ho, wo, c],
    flops: ho * wo * c * poolSize[0] * poolSize[1],
    weights: [],
    spatialRole: 'window',
  };
}

function lowerBatchNorm(context: LayerContext): LoweredLayer {
  const { name, config } = context;
  const shape = context.inputShapes[0] ?? [];
  const axis = configNumber(config, name, 'axis', -1);
  modelAssert(axis === -1 || axis === shape.length, 'ERR_MODEL_TOPOLOGY', () =>
    `lowerModel: BatchNormalization '${name}' normalises axis ${axis}; only the channel axis (-1) is supported`);
  const channels = shape[shape.length - 1] ?? 0;
  const center = configBoolean(config, name, 'center', true);
  const scale = configBoolean(config, name, 'scale', true);
  const weights: WeightRef[] = [];
  if (scale) weights.push(weight(name, 'gamma', [channels]));
  if (center) weights.push(weight(name, 'beta', [channels]));
  weights.push(weight(name, 'moving_mean', [channels]), weight(name, 'moving_variance', [channels]));
  const lowered = pointwise(context, { op: 'batchNorm', epsilon: configNumber(config, name, 'epsilon', 1e-3), center, scale }, 2);
  return { ...lowered, weights };
}

function lowerRelu(context: LayerContext): LoweredLayer {
  const { name, config } = context;
  const maxValue = config['max_value'];
  if (maxValue === undefined || maxValue === null) {
    return pointwise(context, { op: 'activation', activation: { kind: 'relu', alpha: 0 } });
  }
  if (maxValue === 6) return pointwise(context, { op: 'activation', activation: { kind: 'relu6', alpha: 0 } });
  return opaque({ ...context, knownOutputShape: context.inputShapes[0] }, `ReLU(max_value=${configNumber(config, name, 'max_value')})`);
}

function lowerDense(context: LayerContext): LoweredLayer {
  const { name, config } = context;
  const shape = context.inputShapes[0] ?? [];
  const units = configNumber(config, name, 'units');
  const activation = parseActivation(config['activation']);
  if (shape.length !== 1 || activation === undefined) {
    return opaque({ ...context, knownOutputShape: context.knownOutputShape ?? [...shape.slice(0, -1), units] }, 'Dense');
  }
  const useBias = configBoolean(config, name, 'use_bias', true);
  const nIn = shape[0] as number;
  const weights = [weight(name, 'kernel', [nIn, units])];
  if (useBias) weights.push(weight(name, 'bias', [units]));
  return {
    attrs: { op: 'dense', units, useBias, activation },
    outputShape: [units],
    flops: 2 * nIn * units,
    weights,
    spatialRole: 'global',
  };
}

function lowerAddOrConcat(context: LayerContext, op: 'add' | 'concat'): LoweredLayer {
  const { name, config, inputShapes } = context;
  const first = inputShapes[0] ?? [];
  modelAssert(inputShapes.length >= 2, 'ERR_MODEL_SHAPE', () =>
    `lowerModel: ${op} '${name}' needs at least two inputs, got ${inputShapes.length}`);
  const rank = first.length;
  if (op === 'add') {
    modelAssert(inputShapes.every((s) => s.length === rank && s.every((d, i) => d === first[i])), 'ERR_MODEL_SHAPE', () =>
      `lowerModel: add '${name}' has inputs of different shapes ${JSON.stringify(inputShapes)}`);
    return { ...pointwise(context, { op: 'add' }, inputShapes.length - 1), spatialRole: rank === 3 ? 'pointwise' : 'global' };
  }
  const rawAxis = configNumber(config, name, 'axis', -1);
  const axis = rawAxis < 0 ? rank + rawAxis : rawAxis - 1; // Keras counts the batch axis.
  const outputShape = first.map((d, i) => (i === axis ? inputShapes.reduce((sum, s) => sum + (s[i] ?? 0), 0) : d));
  // Only a channel concat keeps rows and columns aligned, so only it is spatially local.
  const spatialRole: SpatialRole = rank === 3 && axis === 2 ? 'pointwise' : 'global';
  return { attrs: { op: 'concat', axis }, outputShape, flops: 0, weights: [], spatialRole };
}

function lowerGlobal(context: LayerContext, attrs: NodeAttrs, outputShape: Shape, flops = 0): LoweredLayer {
  return { attrs, outputShape, flops, weights: [], spatialRole: 'global' };
}

const lowerings: Readonly<Record<string, Lowering>> = {
  Conv2D: lowerConv2d,
  DepthwiseConv2D: (c) => lowerDepthwise(c, false),
  SeparableConv2D: (c) => lowerDepthwise(c, true),
  MaxPooling2D: (c) => lowerPool(c, 'maxPool2d'),
  AveragePooling2D: (c) => lowerPool(c, 'avgPool2d'),
  BatchNormalization: lowerBatchNorm,
  ReLU: lowerRelu,
  LeakyReLU: (c) => pointwise(c, {
    op: 'activation',
    activation: { kind: 'leakyRelu', alpha: configNumber(c.config, c.name, 'alpha', 0.3) },
  }),
  ELU: (c) => (configNumber(c.config, c.name, 'alpha', 1) === 1
    ? pointwise(c, { op: 'activation', activation: { kind: 'elu', alpha: 1 } })
    : opaque({ ...c, knownOutputShape: c.inputShapes[0] }, 'ELU')),
  Activation: (c) => {
    const activation = parseActivation(c.config['activation']);
    if (activation === undefined) return opaque({ ...c, knownOutputShape: c.inputShapes[0] }, 'Activation');
    return pointwise(c, { op: 'activation', activation });
  },
  Softmax: (c) => {
    const shape = c.inputShapes[0] ?? [];
    const axis = configNumber(c.config, c.name, 'axis', -1);
    const resolved = axis < 0 ? shape.length + axis : axis - 1;
    // Over channels a softmax is per-pixel; over anything else it needs the whole tensor.
    const role: SpatialRole = shape.length === 3 && resolved === 2 ? 'pointwise' : 'global';
    return { ...pointwise(c, { op: 'softmax', axis: resolved }, 3), spatialRole: role };
  },
  ZeroPadding2D: (c) => {
    requireChannelsLast(c.config, c.name);
    const [h, w, ch] = imageInput(c);
    const padding = configZeroPadding(c.config, c.name);
    return {
      attrs: { op: 'zeroPadding2d', padding },
      outputShape: [h + padding.top + padding.bottom, w + padding.left + padding.right, ch],
      flops: 0,
      weights: [],
      spatialRole: 'window',
    };
  },
  GlobalAveragePooling2D: (c) => {
    requireChannelsLast(c.config, c.name);
    const [h, w, ch] = imageInput(c);
    return lowerGlobal(c, { op: 'globalAvgPool2d' }, [ch], h * w * ch);
  },
  Add: (c) => lowerAddOrConcat(c, 'add'),
  Concatenate: (c) => lowerAddOrConcat(c, 'concat'),
  Flatten: (c) => lowerGlobal(c, { op: 'flatten' }, [shapeSize(c.inputShapes[0] ?? [])]),
  Reshape: (c) => {
    const target = c.config['target_shape'];
    modelAssert(Array.isArray(target) && target.every((d) => typeof d === 'number'), 'ERR_MODEL_TOPOLOGY', () =>
      `lowerModel: Reshape '${c.name}' has target_shape=${JSON.stringify(target)}`);
    const size = shapeSize(c.inputShapes[0] ?? []);
    const known = (target).filter((d) => d !== -1);
    const resolved = (target).map((d) => (d === -1 ? size / shapeSize(known) : d));
    return lowerGlobal(c, { op: 'reshape', targetShape: resolved }, resolved);
  },
  Dropout: (c) => pointwise(c, { op: 'dropout', rate: configNumber(c.config, c.name, 'rate', 0) }, 0),
  Dense: lowerDense,
};

/**
 * Lowers one Keras layer given its input shapes. Layers this project does not model become
 * `opaque` nodes that the planner leaves to the owner; they need `knownOutputShape`.
 */
export function lowerLayer(
  className: string,
  name: string,
  config: KerasConfig,
  inputShapes: readonly Shape[],
  knownOutputShape: Shape | undefined,
): LoweredLayer {
  const lowering = lowerings[className];
  const context: LayerContext = { name, config, inputShapes, knownOutputShape };
  return lowering === undefined ? opaque(context, className) : lowering(context);
}
