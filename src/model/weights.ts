import type { ModelGraph, Shape } from './graph.ts';
import { shapeSize } from './graph.ts';
import { ModelError, modelAssert } from './errors.ts';
import type { CsrMatrix } from './sparse.ts';
import { csrToDense, prunedUniformCsr } from './sparse.ts';
import { createRng, deriveSeed } from './rng.ts';

/** A dense float32 tensor, row-major, batchless. */
export interface DenseTensor {
  readonly shape: Shape;
  readonly values: Float32Array;
}

/**
 * A model's weights by TF.js name (`<layer>/kernel`). Pruned Dense kernels are kept in `sparse`
 * only (CSR, n_in × n_out), so a full-size VGG-16 fits in memory.
 */
export interface ModelWeights {
  readonly dense: ReadonlyMap<string, DenseTensor>;
  readonly sparse: ReadonlyMap<string, CsrMatrix>;
}

/** The dense values of a weight, densifying a sparse one (only sensible for small layers). */
export function denseWeight(weights: ModelWeights, name: string, shape: Shape): Float32Array {
  const dense = weights.dense.get(name);
  const sparse = weights.sparse.get(name);
  const values = dense?.values ?? (sparse === undefined ? undefined : csrToDense(sparse));
  if (values === undefined) throw new ModelError('ERR_MODEL_WEIGHTS', `denseWeight: no weight named '${name}'`);
  modelAssert(values.length === shapeSize(shape), 'ERR_MODEL_WEIGHTS', () =>
    `denseWeight: '${name}' has ${values.length} values, shape ${JSON.stringify(shape)} needs ${shapeSize(shape)}`);
  return values;
}

/** Options of `seededWeights`. */
export interface SeededWeightOptions {
  /** Base seed; each weight draws from its own stream derived from the seed and its name. */
  readonly seed: number;
  /** Dense layer name → kept density in (0, 1]; these kernels are magnitude-pruned and stored sparse. */
  readonly prunedDensities?: Readonly<Record<string, number>>;
  /**
   * Only these weights (by name); default all. Each weight has its own stream, so a subset has
   * the same values as in the whole set: a worker builds just its convolutions.
   */
  readonly only?: ReadonlySet<string>;
}

function uniform(size: number, low: number, high: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = low + (high - low) * rng.next();
  return values;
}

/**
 * Deterministic weights for every weight of `graph`: kernels He-uniform (±√(6 / fan_in), which keeps
 * ReLU activations of order one through deep stacks), biases in ±0.05, batch-norm statistics
 * near the identity but not equal to it (so a wrong BN would show in tests).
 */
export function seededWeights(graph: ModelGraph, options: SeededWeightOptions): ModelWeights {
  const dense = new Map<string, DenseTensor>();
  const sparse = new Map<string, CsrMatrix>();
  for (const node of graph.nodes) {
    for (const ref of node.weights) {
      if (options.only && !options.only.has(ref.name)) continue;
      const seed = deriveSeed(options.seed, ref.name);
      const suffix = ref.name.slice(ref.name.lastIndexOf('/') + 1);
      const size = shapeSize(ref.shape);
      const fanIn = ref.shape.length === 4 ? (ref.shape[0] as number) * (ref.shape[1] as number) * (suffix === 'depthwise_kernel' ? 1 : (ref.shape[2] as number)) : (ref.shape[0] as number);
      const limit = Math.sqrt(6 / Math.max(fanIn, 1));
      const density = options.prunedDensities?.[node.name];
      if (suffix === 'kernel' && node.attrs.op === 'dense' && density !== undefined) {
        const [rows, cols] = ref.shape as [number, number];
        sparse.set(ref.name, prunedUniformCsr(rows, cols, density, limit, seed));
        continue;
      }
      let values: Float32Array;
      switch (suffix) {
        case 'gamma':
        case 'moving_variance':
          values = uniform(size, 0.5, 1.5, seed);
          break;
        case 'beta':
        case 'moving_mean':
        case 'bias':
          values = uniform(size, -0.05, 0.05, seed);
          break;
        default:
          values = uniform(size, -limit, limit, seed);
      }
      dense.set(ref.name, { shape: ref.shape, values });
    }
  }
  return { dense, sparse };
}
