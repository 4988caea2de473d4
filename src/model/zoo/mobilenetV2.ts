import { modelAssert } from '../errors.ts';
import { lowerModelJson } from '../lowerTopology.ts';
import { seededWeights } from '../weights.ts';
import { TopologyBuilder } from './topologyBuilder.ts';
import type { ZooModel } from './vgg16.ts';

/** Options of the small MobileNetV2-style test model. */
export interface MobileNetV2Options {
  /** Square input size (default 32). Odd sizes are allowed and exercise the asymmetric padding. */
  readonly inputSize?: number;
  /** Channel multiplier (default 1). */
  readonly alpha?: number;
  /** Classifier outputs (default 10). */
  readonly classes?: number;
  /** Weight seed (default 2). */
  readonly seed?: number;
}

/** MobileNetV2's inverted residual settings, shortened: [expansion, output channels, stride]. */
const blocks: readonly (readonly [number, number, number])[] = [
  [1, 8, 1],
  [6, 12, 2],
  [6, 12, 1],
  [6, 16, 2],
  [6, 16, 1],
];

/**
 * A small seeded MobileNetV2-style network: stride-2 stem behind an asymmetric ZeroPadding2D
 * ((0, 1), (0, 1)) as Keras' `correct_pad` does, inverted residual blocks (1×1 expand, BN, ReLU6,
 * 3×3 depthwise, BN, ReLU6, 1×1 project, BN, residual Add when shapes allow), a 1×1 head,
 * global average pooling and a softmax classifier.
 */
export function buildMobileNetV2(options: MobileNetV2Options = {}): ZooModel {
  const inputSize = options.inputSize ?? 32;
  const alpha = options.alpha ?? 1;
  const classes = options.classes ?? 10;
  const seed = options.seed ?? 2;
  modelAssert(inputSize >= 16 && alpha > 0, 'ERR_MODEL_ARGUMENT', () =>
    `buildMobileNetV2: inputSize=${inputSize} (≥ 16), alpha=${alpha} (> 0)`);
  const channels = (c: number): number => Math.max(1, Math.round(c * alpha));
  const b = new TopologyBuilder('mobilenetv2_small');
  const bn = (name: string, input: string): string =>
    b.layer('BatchNormalization', name, { axis: -1, epsilon: 1e-3, center: true, scale: true, momentum: 0.99 }, [input]);
  const relu6 = (name: string, input: string): string => b.layer('ReLU', name, { max_value: 6 }, [input]);
  const conv1x1 = (name: string, filters: number, input: string): string =>
    b.layer('Conv2D', name, { filters, kernel_size: [1, 1], strides: [1, 1], padding: 'same', use_bias: false, activation: 'linear' }, [input]);
  const asymmetricPad = (name: string, input: string): string =>
    b.layer('ZeroPadding2D', name, { padding: [[0, 1], [0, 1]] }, [input]);

  let x = b.input('input', [inputSize, inputSize, 3]);
  x = asymmetricPad('Conv1_pad', x);
  x = b.layer('Conv2D', 'Conv1', { filters: channels(8), kernel_size: [3, 3], strides: [2, 2], padding: 'valid', use_bias: false, activation: 'linear' }, [x]);
  x = relu6('Conv1_relu', bn('bn_Conv1', x));
  let inChannels = channels(8);
  blocks.forEach(([expansion, out, stride], index) => {
    const prefix = `block_${index}_`;
    const blockInput = x;
    let y = x;
    if (expansion !== 1) {
      y = relu6(`${prefix}expand_relu`, bn(`${prefix}expand_BN`, conv1x1(`${prefix}expand`, inChannels * expansion, y)));
    }
    if (stride === 2) y = asymmetricPad(`${prefix}pad`, y);
    y = b.layer('DepthwiseConv2D', `${prefix}depthwise`, {
      kernel_size: [3, 3], strides: [stride, stride], padding: stride === 2 ? 'valid' : 'same', depth_multiplier: 1, use_bias: false, activation: 'linear',
    }, [y]);
    y = relu6(`${prefix}depthwise_relu`, bn(`${prefix}depthwise_BN`, y));
    y = bn(`${prefix}project_BN`, conv1x1(`${prefix}project`, channels(out), y));
    x = stride === 1 && inChannels === channels(out) ? b.layer('Add', `${prefix}add`, {}, [blockInput, y]) : y;
    inChannels = channels(out);
  });
  x = relu6('out_relu', bn('Conv_1_bn', conv1x1('Conv_1', channels(32), x)));
  x = b.layer('GlobalAveragePooling2D', 'global_average_pooling2d', {}, [x]);
  x = b.layer('Dense', 'predictions', { units: classes, activation: 'softmax', use_bias: true }, [x]);
  const topology = b.build(x);
  const graph = lowerModelJson(topology);
  return { topology, graph, weights: (only) => seededWeights(graph, { seed, ...(only ? { only } : {}) }) };
}
