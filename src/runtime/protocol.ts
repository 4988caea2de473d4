/**
 * The runtime's requests from owner to worker, over the mesh's request/response. Every request's
 * metadata is narrowed by a schema on the worker before use; tensors are checked against the
 * slice they belong to.
 */
import * as v from 'valibot';
import { MAX_PACKAGE_BYTES } from '../model/index.ts';

export const RuntimeMethod = {
  /** Get ready to run a model: `{ spec }` → `{ modelKey, ms }`. */
  Load: 'runtime.load',
  /** One tile of a spatial block: `{ modelKey, slice }` + one band per `slice.inputs` → the tile. */
  Spatial: 'runtime.spatial',
  /** Keep a Dense-layer slice for a plan: `{ modelKey, planId, nodeId, rows, cols }` + its index lists and CSR. */
  FcInstall: 'runtime.fc.install',
  /** One Dense-layer share: `{ planId, nodeId }` + x[inputIndex] → partial sums for outputIndex. */
  Fc: 'runtime.fc',
  /** The worker's backend and measured capability on a loaded model's conv shapes: `{ modelKey }` → `WorkerProfile`. */
  Profile: 'runtime.profile',
  /** Which backend the worker runs: `{}` → `{ backend, adapter }`. */
  Info: 'runtime.info',
  /** Part of a model package the worker asked for: `{ hash, offset, total }` + bytes → `{ received, complete }`. */
  Put: 'runtime.model.put',
} as const;

/** What a worker reports about itself: the backend really running and its fitted compute cost. */
export interface WorkerProfile {
  backend: string;
  adapter: string | null;
  aMsPerFlop: number;
  bMs: number;
}

/** Models a worker can build for itself from a few parameters (seeded zoo models). */
export const modelSpecSchema = v.variant('kind', [
  v.strictObject({
    kind: v.literal('zoo'),
    name: v.picklist(['vgg16', 'mobilenetv2']),
    /** Builder options (input size, width multiplier, classes, seed…), as the zoo takes them. */
    options: v.record(v.string(), v.union([v.number(), v.string(), v.boolean(), v.array(v.number())])),
  }),
  /**
   * A TF.js model the server serves (built-in models): each worker loads it from the same origin
   * and checks that its package (model/package.ts) has this SHA-256, so all devices run the same weights.
   */
  v.strictObject({
    kind: v.literal('served'),
    url: v.pipe(v.string(), v.regex(/^\/models\/[A-Za-z0-9._/-]+\.json$/, 'a model.json under /models/ of this server')),
    hash: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
  }),
  /** Any TF.js model, as a runnable package named by its SHA-256 (model/package.ts); streamed by the owner when missing. */
  v.strictObject({
    kind: v.literal('package'),
    hash: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
    bytes: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_PACKAGE_BYTES)),
  }),
]);
export type ModelSpec = v.InferOutput<typeof modelSpecSchema>;

/** A stable key for a model spec (same spec → same key on every device). */
export function modelKeyOf(spec: ModelSpec): string {
  if (spec.kind === 'package') return `package:${spec.hash}`;
  if (spec.kind === 'served') return `served:${spec.hash}`;
  const options = Object.keys(spec.options)
    .sort()
    .map((k) => `${k}=${JSON.stringify(spec.options[k])}`)
    .join(',');
  return `${spec.kind}:${spec.name}(${options})`;
}

const index = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1 << 20));
const coordinate = v.pipe(v.number(), v.integer(), v.minValue(-1 << 16), v.maxValue(1 << 16));
const rangeSchema = v.strictObject({ start: coordinate, end: coordinate });
const rectSchema = v.strictObject({ rows: rangeSchema, cols: rangeSchema });
const padSchema = v.strictObject({ top: index, bottom: index, left: index, right: index });
const MAX_NODES_PER_SLICE = 1024;

export const tileSliceSchema = v.strictObject({
  device: index,
  tile: rectSchema,
  inputs: v.pipe(v.array(v.strictObject({ nodeId: index, rect: rectSchema })), v.maxLength(64)),
  nodes: v.pipe(
    v.array(
      v.strictObject({
        nodeId: index,
        out: rectSchema,
        inputs: v.pipe(v.array(v.strictObject({ producerId: index, rect: rectSchema, pad: padSchema })), v.maxLength(64)),
      }),
    ),
    v.minLength(1),
    v.maxLength(MAX_NODES_PER_SLICE),
  ),
});

const modelKey = v.pipe(v.string(), v.maxLength(400));
const planId = v.pipe(v.string(), v.maxLength(100));

export const loadSchema = v.object({ method: v.literal(RuntimeMethod.Load), spec: modelSpecSchema });
export const spatialSchema = v.object({ method: v.literal(RuntimeMethod.Spatial), modelKey, slice: tileSliceSchema });
export const fcInstallSchema = v.object({ method: v.literal(RuntimeMethod.FcInstall), modelKey, planId, nodeId: index, rows: index, cols: index });
export const putSchema = v.object({
  method: v.literal(RuntimeMethod.Put),
  hash: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
  offset: v.pipe(v.number(), v.integer(), v.minValue(0)),
  total: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_PACKAGE_BYTES)),
});
export const profileSchema = v.object({ method: v.literal(RuntimeMethod.Profile), modelKey });
export const fcSchema = v.object({ method: v.literal(RuntimeMethod.Fc), planId, nodeId: index });

/** The worker's answer to a compute task: when it computed, on its own clock (performance.now()). */
export interface TaskReplyMeta {
  computeMs: number;
  computeStartMs: number;
  computeEndMs: number;
}
