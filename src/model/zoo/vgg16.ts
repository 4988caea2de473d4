import type { ModelGraph } from '../graph.ts';
import { modelAssert } from '../errors.ts';
import { lowerModelJson } from '../lowerTopology.ts';
import type { ModelWeights } from '../weights.ts';
import { seededWeights } from '../weights.ts';
import { TopologyBuilder } from './topologyBuilder.ts';

/** Options of the VGG-16 zoo model; every field has a default matching the MoDNN setting. */
export interface Vgg16Options {
  /** Square input size in pixels (default 224; at least 32 so five 2×2 pools leave a pixel). */
  readonly inputSize?: number;
  /** Scales every conv and hidden FC width (default 1); 0.125 keeps tests fast. */
  readonly widthMultiplier?: number;
  /** fc8 outputs (default 1000). */
  readonly classes?: number;
  /** Kept densities of fc6/fc7/fc8 after magnitude pruning (default 4% / 4% / 25%, Deep Compression). */
  readonly fcDensities?: readonly [number, number, number];
  /** Weight seed (default 1). */
  readonly seed?: number;
}

/** A zoo model: its Keras topology (model.json form), the lowered graph and a weight generator. */
export interface ZooModel {
  readonly topology: Record<string, unknown>;
  readonly graph: ModelGraph;
  /**
   * Builds the seeded weights (pruned FC kernels are sparse), or only those named in `only`.
   * Deterministic; may take seconds at full size.
   */
  weights(only?: ReadonlySet<string>): ModelWeights;
}

const vggBlockConvs = [2, 2, 3, 3, 3] as const;
const vggBlockFilters = [64, 128, 256, 512, 512] as const;
const vggFcUnits = 4096;
export const defaultFcDensities = [0.04, 0.04, 0.25] as const;

function scaled(width: number, multiplier: number): number {
  return Math.max(1, Math.round(width * multiplier));
}

/**
 * VGG-16 as in the MoDNN paper: 13 3×3 'same' ReLU convs in five blocks, each block followed by a
 * 2×2 stride-2 max pool, then Flatten and fc6/fc7 (4096, ReLU) and fc8 (softmax).
 */
export function buildVgg16(options: Vgg16Options = {}): ZooModel {
  const inputSize = options.inputSize ?? 224;
  const multiplier = options.widthMultiplier ?? 1;
  const classes = options.classes ?? 1000;
  const densities = options.fcDensities ?? defaultFcDensities;
  const seed = options.seed ?? 1;
  modelAssert(inputSize >= 32 && multiplier > 0 && classes >= 1, 'ERR_MODEL_ARGUMENT', () =>
    `buildVgg16: inputSize=${inputSize} (≥ 32), widthMultiplier=${multiplier} (> 0), classes=${classes} (≥ 1)`);

  const builder = new TopologyBuilder('vgg16');
  let x = builder.input('input', [inputSize, inputSize, 3]);
  vggBlockConvs.forEach((convs, block) => {
    for (let i = 1; i <= convs; i++) {
      x = builder.layer('Conv2D', `block${block + 1}_conv${i}`, {
        filters: scaled(vggBlockFilters[block] as number, multiplier),
        kernel_size: [3, 3], strides: [1, 1], padding: 'same', dilation_rate: [1, 1], activation: 'relu', use_bias: true,
      }, [x]);
    }
    x = builder.layer('MaxPooling2D', `block${block + 1}_pool`, { pool_size: [2, 2], strides: [2, 2], padding: 'valid' }, [x]);
  });
  x = builder.layer('Flatten', 'flatten', {}, [x]);
  const hidden = scaled(vggFcUnits, multiplier);
  x = builder.layer('Dense', 'fc6', { units: hidden, activation: 'relu', use_bias: true }, [x]);
  x = builder.layer('Dense', 'fc7', { units: hidden, activation: 'relu', use_bias: true }, [x]);
  x = builder.layer('Dense', 'fc8', { units: classes, activation: 'softmax', use_bias: true }, [x]);
  const topology = builder.build(x);
  const graph = lowerModelJson(topology);
  return {
    topology,
    graph,
    weights: (only) => seededWeights(graph, { seed, prunedDensities: { fc6: densities[0], fc7: densities[1], fc8: densities[2] }, ...(only ? { only } : {}) }),
  };
}
