import type { ModelGraph } from '../graph.ts';
import { modelAssert } from '../errors.ts';
import type { ModelWeights } from '../weights.ts';
import { denseWeight } from '../weights.ts';
import type { LayersModel, TfModule } from './tfModule.ts';

/**
 * Materialises a topology and its weights as a live `tf.LayersModel`: the reference every
 * partitioned execution is compared with. Sparse kernels are densified, so use small models.
 */
export async function toLayersModel(
  tf: TfModule,
  model: { readonly topology: Record<string, unknown>; readonly graph: ModelGraph },
  weights: ModelWeights,
): Promise<LayersModel> {
  const layersModel = await tf.models.modelFromJSON(
    { modelTopology: model.topology } as Parameters<TfModule['models']['modelFromJSON']>[0],
  );
  for (const node of model.graph.nodes) {
    if (node.weights.length === 0) continue;
    const layer = layersModel.getLayer(node.name);
    modelAssert(layer.weights.length === node.weights.length, 'ERR_MODEL_WEIGHTS', () =>
      `toLayersModel: layer '${node.name}' has ${layer.weights.length} weights, the graph lists ${node.weights.length}`);
    const tensors = node.weights.map((ref) => tf.tensor(denseWeight(weights, ref.name, ref.shape), [...ref.shape]));
    layer.setWeights(tensors);
    tf.dispose(tensors);
  }
  return layersModel;
}
