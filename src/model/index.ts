/**
 * model/: lowers TF.js LayersModels into the layer graph the planner understands, builds the
 * seeded zoo models, holds sparse-matrix helpers and the per-node TF.js kernels. No TF.js is
 * loaded at run time by this layer: functions that need it take the `tf` namespace as a parameter.
 */

// Graph
export { consumersOf, nodeWindow, shapeSize } from './graph.ts';
export type {
  Activation,
  ActivationKind,
  GraphNode,
  ModelGraph,
  NodeAttrs,
  OpKind,
  Padding2d,
  PaddingFill,
  Shape,
  SpatialRole,
  WeightRef,
  Window2d,
} from './graph.ts';

// Lowering
export { lowerLayersModel, lowerModelJson } from './lowerTopology.ts';
export type { LayersModelLike } from './lowerTopology.ts';
export { effectiveKernel, resolvePadding1d, windowOutputSize } from './windowGeometry.ts';
export type { PaddingMode } from './windowGeometry.ts';

// Errors
export { ModelError, modelAssert } from './errors.ts';
export type { ModelErrorCode } from './errors.ts';

// Seeded randomness
export { createRng, deriveSeed, permutation } from './rng.ts';
export type { Rng } from './rng.ts';

// Sparse matrices and pruning
export {
  csrFromDense,
  csrNnz,
  nodeFlopsWith,
  prunedKernelOf,
  csrToDense,
  csrTranspose,
  csrVecMul,
  keptCount,
  magnitudePrune,
  prunedUniformCsr,
} from './sparse.ts';
export type { CsrMatrix } from './sparse.ts';

// Weights
export { denseWeight, seededWeights } from './weights.ts';
export type { DenseTensor, ModelWeights, SeededWeightOptions } from './weights.ts';

// Zoo
export { buildVgg16, defaultFcDensities } from './zoo/vgg16.ts';
export type { Vgg16Options, ZooModel } from './zoo/vgg16.ts';
export { buildMobileNetV2 } from './zoo/mobilenetV2.ts';
export { TopologyBuilder } from './zoo/topologyBuilder.ts';
export type { MobileNetV2Options } from './zoo/mobilenetV2.ts';

// TF.js reference (the caller passes the tf namespace)
export { toLayersModel } from './reference/layersModel.ts';
export type { LayersModel, Tensor, Tensor3D, TfModule } from './reference/tfModule.ts';
export { applyNode, keptWeightTensorCount } from './reference/applyNode.ts';
export type { PaddedInput } from './reference/applyNode.ts';
export { weightsFromLayersModel } from './reference/weightsFromModel.ts';

// Packages: a model as one byte string, named by its SHA-256
export {
  packModel,
  unpackModel,
  packRunnable,
  unpackRunnable,
  workerWeightNames,
  contentHash,
  PACKAGE_FORMAT,
  RUNNABLE_FORMAT,
  MAX_PACKAGE_BYTES,
} from './package.ts';
export type { ModelArtifactsLike, WeightSpec } from './package.ts';
