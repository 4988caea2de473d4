import type { ModelGraph } from '../graph.ts';
import { shapeSize } from '../graph.ts';
import { modelAssert } from '../errors.ts';
import type { CsrMatrix } from '../sparse.ts';
import { csrFromDense, csrNnz } from '../sparse.ts';
import type { DenseTensor, ModelWeights } from '../weights.ts';
import type { LayersModel } from './tfModule.ts';

/** Dense kernels at or below this fraction of nonzeros are kept sparse (pruned layers). */
const defaultSparseDensity = 0.5;

/**
 * Reads a live `tf.LayersModel`'s weights into `ModelWeights`, named as the graph names them.
 * Dense kernels whose density is at most `sparseDensity` (default 0.5) are stored as CSR, so a
 * user's pruned model is planned with MSCC + FGCP like the zoo's VGG-16.
 */
export async function weightsFromLayersModel(model: LayersModel, graph: ModelGraph, sparseDensity = defaultSparseDensity): Promise<ModelWeights> {
  const dense = new Map<string, DenseTensor>();
  const sparse = new Map<string, CsrMatrix>();
  for (const node of graph.nodes) {
    if (node.weights.length === 0) continue;
    const layer = model.getLayer(node.name);
    const tensors = layer.getWeights();
    modelAssert(tensors.length === node.weights.length, 'ERR_MODEL_WEIGHTS', () =>
      `weightsFromLayersModel: layer '${node.name}' has ${tensors.length} weights, the graph lists ${node.weights.length}`);
    for (const [index, ref] of node.weights.entries()) {
      const values = Float32Array.from(await (tensors[index] as (typeof tensors)[number]).data());
      modelAssert(values.length === shapeSize(ref.shape), 'ERR_MODEL_WEIGHTS', () =>
        `weightsFromLayersModel: '${ref.name}' has ${values.length} values, expected ${shapeSize(ref.shape)}`);
      if (node.attrs.op === 'dense' && index === 0) {
        const [rows, cols] = ref.shape as [number, number];
        const matrix = csrFromDense(values, rows, cols);
        if (csrNnz(matrix) <= sparseDensity * rows * cols) {
          sparse.set(ref.name, matrix);
          continue;
        }
      }
      dense.set(ref.name, { shape: ref.shape, values: Float32Array.from(values) });
    }
  }
  return { dense, sparse };
}
