/**
 * The runtime: runs a plan over the mesh (owner scheduler) and the tasks a worker is sent
 * (worker executor). Joins mesh/, model/, partition/ and compute/.
 */

// The reference: a plan run slice by slice on one device
export { executePlan, executeWhole, runTileSlice } from './local-executor.ts';
export type { ExecuteOptions } from './local-executor.ts';
export { cropSliceInputs, runFcSlice, addFcPartial, finishFc } from './local-executor.ts';

// Over the mesh
export { OwnerRuntime, seededRandom } from './owner-runtime.ts';
export type { DeadlineOptions, InferenceResult, OwnerRuntimeOptions, TaskTrace, WorkerPort } from './owner-runtime.ts';
export { WorkerExecutor, resolveZooModel, loadPackage, defaultResolver, fetchServedModel, workerWeights } from './worker-executor.ts';
export type { LoadedModel, ModelFetcher, ModelResolver, WorkerExecutorOptions, WorkerStats } from './worker-executor.ts';
export { browserModelStore, memoryModelStore } from './model-store.ts';
export type { ModelStore } from './model-store.ts';
export { RuntimeMethod, infoReplySchema, modelKeyOf, parseReply } from './protocol.ts';
export type { ModelSpec } from './protocol.ts';
export { RuntimeError } from './errors.ts';
export type { RuntimeErrorCode } from './errors.ts';
export { Classifier, SCHEMES, WIRE_OPTIONS } from './classifier.ts';
export type { BatchSummary, Classification, ClassifierOptions, ClassifyManyOptions, ClassifyOptions, OwnerMeshLike, Scheme } from './classifier.ts';
export { WIRE_PRECISIONS, packActivation, unpackActivation } from './wire-precision.ts';
export { median } from './median.ts';
export type { NeighbourPorts, RuntimeHandler } from './worker-executor.ts';
export type { WorkerProfile } from './protocol.ts';
export type { Profiler } from './worker-executor.ts';
