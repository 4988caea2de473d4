/**
 * The runtime's requests from owner to worker, over the mesh's request/response. Every request's
 * metadata is narrowed by a schema on the worker before use; tensors are checked against the
 * slice they belong to.
 */
import * as v from 'valibot';
import { MAX_PACKAGE_BYTES, type ModelGraph } from '../model/index.ts';
import { sliceBlock, type TileSlice } from '../partition/index.ts';

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
  /** Open direct links to these other workers (for resident runs): `{ peers }` → `{ connected }`. */
  Peers: 'runtime.peers',
  /** Run a strip of a resident step: `{ modelKey, runId, program, peers, encoding, wire }` + the input band → the last layer's strip. */
  Resident: 'runtime.resident',
  /** Halo rows for a resident run, from the device that computed them: `{ runId, layer, from, rows, encoding }` + the rows. */
  Halo: 'runtime.resident.halo',
  /** The owner asks for the rows a worker computed for it: `{ runId, layer }` → `{ rows, encoding }` + the rows. */
  HaloPull: 'runtime.resident.pull',
  /** A resident run is over (a device failed): `{ runId, reason }`; waits for its halos end. */
  ResidentCancel: 'runtime.resident.cancel',
} as const;

/** What a worker reports about itself: the backend really running and its fitted compute cost. */
export interface WorkerProfile {
  backend: string;
  adapter: string | null;
  aMsPerFlop: number;
  bMs: number;
}

const integerIn = (min: number, max: number) => v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));
const fractionIn = (max: number) => v.pipe(v.number(), v.finite(), v.gtValue(0), v.maxValue(max));
/**
 * A zoo model's builder options, bounded: the owner may ask a worker for the full VGG-16 (224 px,
 * width 1, 1,000 classes) but not for one a thousand times larger.
 */
const seed = integerIn(0, 0xffffffff);
const classes = integerIn(1, 10_000);
const vgg16OptionsSchema = v.strictObject({
  inputSize: v.optional(integerIn(32, 448)),
  widthMultiplier: v.optional(fractionIn(2)),
  classes: v.optional(classes),
  fcDensities: v.optional(v.tuple([fractionIn(1), fractionIn(1), fractionIn(1)])),
  seed: v.optional(seed),
});
const mobileNetV2OptionsSchema = v.strictObject({
  inputSize: v.optional(integerIn(16, 448)),
  alpha: v.optional(fractionIn(4)),
  classes: v.optional(classes),
  seed: v.optional(seed),
});

/** Models a worker can build for itself from a few parameters (seeded zoo models). */
export const modelSpecSchema = v.variant('kind', [
  v.variant('name', [
    v.strictObject({ kind: v.literal('zoo'), name: v.literal('vgg16'), options: vgg16OptionsSchema }),
    v.strictObject({ kind: v.literal('zoo'), name: v.literal('mobilenetv2'), options: mobileNetV2OptionsSchema }),
  ]),
  /**
   * A TF.js model the server serves (built-in models): each worker loads it from the same origin
   * and checks that its package (model/package.ts) has this SHA-256, so all devices run the same weights.
   */
  v.strictObject({
    kind: v.literal('served'),
    url: v.pipe(
      v.string(),
      v.regex(/^\/models\/[A-Za-z0-9._/-]+\.json$/, 'a model.json under /models/ of this server'),
      v.check((url) => !url.split('/').some((part) => part === '..' || part === '.'), 'a model.json under /models/ of this server'),
    ),
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
  const opts = spec.options as Record<string, unknown>;
  const options = Object.keys(opts)
    .sort()
    .map((k) => `${k}=${JSON.stringify(opts[k])}`)
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

/** How a compact tensor reads back (see wire-precision.ts); checked again against the tensor. */
const precision = v.picklist(['float32', 'float16', 'int8']);
export const wireEncodingSchema = v.strictObject({
  precision,
  scale: v.optional(v.pipe(v.number(), v.finite(), v.gtValue(0))),
  offset: v.optional(v.pipe(v.number(), v.finite())),
});
/** Tiles may travel compact: one encoding per input band, and the precision to return the tile in. */
export const spatialWireSchema = v.object({ encodings: v.optional(v.pipe(v.array(wireEncodingSchema), v.maxLength(64))), wire: v.optional(precision) });

const peerId = v.pipe(v.string(), v.minLength(1), v.maxLength(100));
const runId = v.pipe(v.string(), v.minLength(1), v.maxLength(100));
const MAX_RESIDENT_LAYERS = 256;
const nodeSliceSchema = tileSliceSchema.entries.nodes.pipe[0].item;
export const peersSchema = v.object({ method: v.literal(RuntimeMethod.Peers), peers: v.pipe(v.array(peerId), v.maxLength(64)) });
export const residentProgramSchema = v.strictObject({
  device: index,
  input: v.strictObject({ nodeId: index, rect: rectSchema }),
  layers: v.pipe(
    v.array(
      v.strictObject({
        node: nodeSliceSchema,
        halosIn: v.pipe(v.array(v.strictObject({ from: index, rows: rangeSchema })), v.maxLength(64)),
        halosOut: v.pipe(v.array(v.strictObject({ to: index, rows: rangeSchema })), v.maxLength(64)),
      }),
    ),
    v.minLength(1),
    v.maxLength(MAX_RESIDENT_LAYERS),
  ),
});
export const residentSchema = v.object({
  method: v.literal(RuntimeMethod.Resident),
  modelKey,
  runId,
  program: residentProgramSchema,
  /** Peer ids of the other workers this strip swaps halos with, by device index (the owner is whoever sent the request). */
  peers: v.pipe(v.array(v.strictObject({ device: index, peerId })), v.maxLength(64)),
  encoding: wireEncodingSchema,
  wire: precision,
});
export const haloSchema = v.object({ method: v.literal(RuntimeMethod.Halo), runId, layer: index, from: index, rows: rangeSchema, encoding: wireEncodingSchema });
export const haloPullSchema = v.object({ method: v.literal(RuntimeMethod.HaloPull), runId, layer: index });
export const residentCancelSchema = v.object({ method: v.literal(RuntimeMethod.ResidentCancel), runId, reason: v.pipe(v.string(), v.maxLength(400)) });
/** A compact tile or halo's encoding, as the owner reads it from a worker's reply. */
export const encodedReplySchema = v.object({ encoding: wireEncodingSchema });
/** Rows a worker computed for the owner in a resident run, and how they travel. */
export const haloPullReplySchema = v.object({ rows: rangeSchema, encoding: wireEncodingSchema });

/** The worker's answer to a compute task: when it computed, on its own clock (performance.now()). */
export interface TaskReplyMeta {
  computeMs: number;
  computeStartMs: number;
  computeEndMs: number;
  /** Resident strips: of `computeMs`, the time spent waiting for neighbours' halos. */
  haloWaitMs?: number;
}

/*
 * Replies, as the owner must narrow them: a worker's numbers feed the planner and the timeline,
 * so only finite, sane ones are taken (see `parseReply`).
 */
const finite = v.pipe(v.number(), v.finite());
const shortText = (max: number) => v.pipe(v.string(), v.maxLength(max));
/** A task's timing: compute time at most 10 minutes, its window in order. */
export const taskReplySchema = v.pipe(
  v.object({ computeMs: v.pipe(finite, v.minValue(0), v.maxValue(600_000)), computeStartMs: finite, computeEndMs: finite, haloWaitMs: v.optional(v.pipe(finite, v.minValue(0))) }),
  v.check((m) => m.computeEndMs >= m.computeStartMs, 'compute window ends before it starts'),
  v.check((m) => m.haloWaitMs === undefined || m.haloWaitMs <= m.computeMs, 'halo wait longer than the compute window'),
);
export const loadReplySchema = v.object({ modelKey: shortText(400), ms: v.pipe(finite, v.minValue(0)) });
export const putReplySchema = v.object({ received: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_PACKAGE_BYTES)), complete: v.boolean() });
/**
 * A profile within what any device can do: from 1 kFLOP/s to 10 PFLOP/s, and at most 10 s of fixed
 * cost per layer. A worker claiming more would be handed every task (and then miss its deadlines).
 */
export const profileReplySchema = v.object({
  backend: shortText(40),
  adapter: v.nullable(shortText(200)),
  aMsPerFlop: v.pipe(finite, v.minValue(1e-13), v.maxValue(1)),
  bMs: v.pipe(finite, v.minValue(0), v.maxValue(10_000)),
});
export const infoReplySchema = v.object({ backend: v.nullable(shortText(40)), adapter: v.nullable(shortText(200)) });

/** A reply's metadata narrowed by its schema, or null (the caller treats the worker as failed). */
export function parseReply<S extends v.GenericSchema>(schema: S, meta: unknown): v.InferOutput<S> | null {
  const result = v.safeParse(schema, meta);
  return result.success ? result.output : null;
}

/** Padding a small map may need (a large kernel on a 1×1 map) without it being an attack. */
const PAD_SLACK = 64;

/** Deep equality of JSON-like values, whatever the order of object keys. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * Checks a tile slice against the model it is for, beyond what its schema can: every node and
 * input exists and is a feature map, every rectangle lies inside its map (an empty range ends
 * one before it starts), padding is no wider than the map it pads, and the slice is exactly what
 * the partitioner makes of its tile through its nodes. So a request can only ask for the work a
 * plan of this model would. Returns why not, or null when it fits.
 */
export function tileSliceMisfit(graph: ModelGraph, slice: TileSlice): string | null {
  const mapOf = (id: number): { h: number; w: number } | null => {
    const shape = graph.nodes[id]?.outputShape;
    return shape?.length === 3 ? { h: shape[0] as number, w: shape[1] as number } : null;
  };
  const inside = (rect: TileSlice['tile'], map: { h: number; w: number }): boolean =>
    rect.rows.start >= 0 && rect.cols.start >= 0 && rect.rows.end >= rect.rows.start - 1 && rect.cols.end >= rect.cols.start - 1 && rect.rows.end < map.h && rect.cols.end < map.w;
  for (const id of [...slice.inputs.map((i) => i.nodeId), ...slice.nodes.flatMap((n) => [n.nodeId, ...n.inputs.map((i) => i.producerId)])]) {
    if (!mapOf(id)) return `node ${id} is not a feature map of ${graph.name}`;
  }
  const last = slice.nodes[slice.nodes.length - 1];
  const outMap = last ? mapOf(last.nodeId) : null;
  if (!outMap || !inside(slice.tile, outMap)) return `tile is outside node ${String(last?.nodeId)}'s output`;
  for (const input of slice.inputs) {
    const map = mapOf(input.nodeId);
    if (!map || !inside(input.rect, map)) return `input rectangle of node ${input.nodeId} is outside its map`;
  }
  for (const node of slice.nodes) {
    const map = mapOf(node.nodeId);
    if (!map || !inside(node.out, map)) return `rows and columns of node ${node.nodeId} are outside its output`;
    for (const input of node.inputs) {
      const from = mapOf(input.producerId);
      if (!from || !inside(input.rect, from)) return `node ${node.nodeId} reads outside node ${input.producerId}`;
      const { top, bottom, left, right } = input.pad;
      if (Math.max(top, bottom) > Math.max(from.h, PAD_SLACK) || Math.max(left, right) > Math.max(from.w, PAD_SLACK)) {
        return `node ${node.nodeId} pads node ${input.producerId} wider than the map`;
      }
    }
  }
  // Graph nodes are numbered in topological order: a repeated node would be computed twice.
  const ids = slice.nodes.map((n) => n.nodeId);
  if (ids.some((id, i) => i > 0 && id <= (ids[i - 1] as number))) return `nodes [${ids.join(',')}] are repeated or out of order`;
  let expected: unknown;
  try {
    expected = sliceBlock(graph, ids, [{ device: slice.device, tile: slice.tile }])[0];
  } catch {
    return `nodes [${ids.join(',')}] are not a block of spatially local layers`;
  }
  return sameJson(expected, slice) ? null : 'it is not the slice of its tile through its nodes';
}
