/**
 * Runs a plan's slices one by one on one TF.js backend, as the devices would, and merges them as
 * the owner does: the reference that every distributed run is checked against, and the kernels
 * (`runTileSlice`) a worker runs on its share.
 */
import { residentLayerSlice, type FcWorkerSlice, type PlanStep, type TileSlice } from '../partition/index.ts';
import {
  ModelError,
  applyNode,
  csrVecMul,
  denseWeight,
  modelAssert,
  nodeWindow,
  shapeSize,
  type GraphNode,
  type LayersModel,
  type ModelGraph,
  type ModelWeights,
  type PaddedInput,
  type Tensor,
  type Tensor3D,
  type TfModule,
} from '../model/index.ts';

const noPadding = { top: 0, bottom: 0, left: 0, right: 0 };

/** Rows/columns of one node's output that a device holds. */
export interface Band {
  readonly tensor: Tensor3D;
  /** First row and column of the band in the node's output coordinates. */
  readonly row: number;
  readonly col: number;
}

function nodeAt(graph: ModelGraph, id: number): GraphNode {
  const node = graph.nodes[id];
  if (node === undefined) throw new ModelError('ERR_MODEL_EXECUTION', `executePlan: no node ${id} in '${graph.name}'`);
  return node;
}

/** Options of `executePlan`. */
export interface ExecuteOptions {
  /**
   * The live model, to run layers this project does not model (`opaque` nodes, always on the
   * owner) through their own TF.js layer. Without it such a layer is an ERR_MODEL_EXECUTION.
   */
  readonly model?: LayersModel;
}

/** Runs one node on whole inputs with the layer's own padding. */
export function runWhole(tf: TfModule, graph: ModelGraph, weights: ModelWeights, node: GraphNode, values: ReadonlyMap<number, Tensor>, options: ExecuteOptions): Tensor {
  const inputs: PaddedInput[] = node.inputs.map((id) => {
    const band = values.get(id);
    if (band === undefined) throw new ModelError('ERR_MODEL_EXECUTION', `executePlan: '${node.name}' runs before its input ${id}`);
    return { band, pad: nodeWindow(node)?.padding ?? noPadding };
  });
  if (node.attrs.op === 'opaque' && options.model !== undefined) {
    const layer = options.model.getLayer(node.name);
    const batched = inputs.map((input) => tf.expandDims(input.band, 0));
    const output = layer.apply(batched.length === 1 ? (batched[0] as Tensor) : batched) as Tensor;
    return tf.squeeze(output, [0]);
  }
  return applyNode(tf, node, weights, inputs);
}

/**
 * Crops the rectangles a slice needs out of whole tensors: what the owner sends a device (and
 * what it runs itself for its own slices).
 *
 * @param source the whole output of each external input node (held by the owner).
 */
export function cropSliceInputs(tf: TfModule, slice: TileSlice, source: (nodeId: number) => Tensor3D): Map<number, Band> {
  const bands = new Map<number, Band>();
  for (const input of slice.inputs) {
    const { rows, cols } = input.rect;
    const full = source(input.nodeId);
    const height = Math.max(0, rows.end - rows.start + 1);
    const width = Math.max(0, cols.end - cols.start + 1);
    const tensor = tf.slice(full, [Math.min(rows.start, full.shape[0]), Math.min(cols.start, full.shape[1]), 0], [height, width, -1]);
    bands.set(input.nodeId, { tensor, row: rows.start, col: cols.start });
  }
  return bands;
}

/**
 * Computes one device's slice of a spatial block from the whole inputs (the reference path).
 * See `runTileSliceOnBands`.
 */
export function runTileSlice(
  tf: TfModule,
  graph: ModelGraph,
  weights: ModelWeights,
  slice: TileSlice,
  source: (nodeId: number) => Tensor3D,
): Tensor3D {
  return runTileSliceOnBands(tf, graph, weights, slice, cropSliceInputs(tf, slice, source));
}

/**
 * Computes one device's slice of a spatial block from the input bands it was sent: runs every
 * node on exactly the rows/columns the slice lists, with 'valid' padding plus the slice's true
 * border padding. Returns the device's output tile.
 *
 * @param inputBands the slice's input rectangles, by node id (as `cropSliceInputs` makes them).
 */
export function runTileSliceOnBands(
  tf: TfModule,
  graph: ModelGraph,
  weights: ModelWeights,
  slice: TileSlice,
  inputBands: ReadonlyMap<number, Band>,
): Tensor3D {
  const bands = new Map<number, Band>(inputBands);
  let last: Band | undefined;
  for (const nodeSlice of slice.nodes) {
    last = runNodeSlice(tf, graph, weights, nodeSlice, bands);
    bands.set(nodeSlice.nodeId, last);
  }
  if (last === undefined) throw new ModelError('ERR_MODEL_EXECUTION', 'runTileSlice: the slice has no nodes');
  return last.tensor;
}

/**
 * `runTileSliceOnBands`, one node at a time with `pause()` between nodes, so a device that takes
 * seconds on a block still answers its peers (see compute's `yieldToEventLoop`). Keeps only the
 * output: every intermediate is disposed, the input bands are the caller's.
 */
export async function runTileSliceStepwise(
  tf: TfModule,
  graph: ModelGraph,
  weights: ModelWeights,
  slice: TileSlice,
  inputBands: ReadonlyMap<number, Band>,
  pause: () => Promise<void>,
): Promise<Tensor3D> {
  const bands = new Map<number, Band>(inputBands);
  const made: Tensor[] = [];
  let last: Band | undefined;
  try {
    for (const [i, nodeSlice] of slice.nodes.entries()) {
      if (i > 0) await pause();
      // The tidy keeps the band's tensor (it is returned) and frees the node's temporaries.
      const band = tf.tidy(() => ({ ...runNodeSlice(tf, graph, weights, nodeSlice, bands) }));
      made.push(band.tensor);
      last = band;
      bands.set(nodeSlice.nodeId, band);
    }
    if (last === undefined) throw new ModelError('ERR_MODEL_EXECUTION', 'runTileSlice: the slice has no nodes');
    return last.tensor;
  } finally {
    for (const tensor of made) if (tensor !== last?.tensor) tensor.dispose();
  }
}

/** One node of a slice, on the rows/columns the slice lists, from the bands computed so far. */
function runNodeSlice(tf: TfModule, graph: ModelGraph, weights: ModelWeights, nodeSlice: TileSlice['nodes'][number], bands: ReadonlyMap<number, Band>): Band {
  const node = nodeAt(graph, nodeSlice.nodeId);
  const inputs = nodeSlice.inputs.map((cut): PaddedInput => {
    const height = Math.max(0, cut.rect.rows.end - cut.rect.rows.start + 1);
    const width = Math.max(0, cut.rect.cols.end - cut.rect.cols.start + 1);
    if (height * width === 0) {
      // The cut lies wholly in the border padding: nothing is read, only padding is made.
      const channels = nodeAt(graph, cut.producerId).outputShape[2] ?? 0;
      return { band: tf.zeros([height, width, channels]), pad: cut.pad };
    }
    const band = bands.get(cut.producerId);
    if (band === undefined) {
      throw new ModelError('ERR_MODEL_EXECUTION', `runTileSlice: '${node.name}' needs node ${cut.producerId}, which the slice does not hold`);
    }
    const offsetRow = cut.rect.rows.start - band.row;
    const offsetCol = cut.rect.cols.start - band.col;
    modelAssert(offsetRow >= 0 && offsetCol >= 0 && offsetRow + height <= band.tensor.shape[0] && offsetCol + width <= band.tensor.shape[1],
      'ERR_MODEL_EXECUTION', () => `runTileSlice: '${node.name}' reads rows ${cut.rect.rows.start}..${cut.rect.rows.end} of node ${cut.producerId}, band holds ${band.row}..${band.row + band.tensor.shape[0] - 1}`);
    return { band: tf.slice(band.tensor, [offsetRow, offsetCol, 0], [height, width, -1]), pad: cut.pad };
  });
  const output = applyNode(tf, node, weights, inputs) as Tensor3D;
  const expected = [nodeSlice.out.rows.end - nodeSlice.out.rows.start + 1, nodeSlice.out.cols.end - nodeSlice.out.cols.start + 1];
  modelAssert(output.shape[0] === expected[0] && output.shape[1] === expected[1], 'ERR_MODEL_EXECUTION', () =>
    `runTileSlice: '${node.name}' produced ${output.shape[0]}×${output.shape[1]}, the slice expects ${expected[0]}×${expected[1]}`);
  return { tensor: output, row: nodeSlice.out.rows.start, col: nodeSlice.out.cols.start };
}

/**
 * Merges tiles into the whole map, checking that every cell is written exactly once (a plan
 * whose tiles overlap or leave a gap is wrong, not just imprecise).
 */
export function mergeTiles(tf: TfModule, shape: readonly number[], tiles: readonly { slice: TileSlice; output: Tensor3D }[]): Tensor3D {
  const [h, w, c] = shape as [number, number, number];
  return tf.tensor3d(mergeTileValues(shape, tiles.map(({ slice, output }) => ({ slice, values: output.dataSync() as Float32Array }))), [h, w, c]);
}

/**
 * The same merge on values already read back (`await tensor.data()`): the owner's path, since
 * `dataSync()` is not reliable on every WebGPU adapter.
 */
export function mergeTileValues(shape: readonly number[], tiles: readonly { slice: TileSlice; values: Float32Array }[]): Float32Array {
  const [h, w, c] = shape as [number, number, number];
  const merged = new Float32Array(h * w * c);
  const written = new Uint8Array(h * w);
  for (const { slice, values } of tiles) {
    const { rows, cols } = slice.tile;
    const width = cols.end - cols.start + 1;
    for (let r = rows.start; r <= rows.end; r++) {
      for (let q = cols.start; q <= cols.end; q++) {
        written[r * w + q] = (written[r * w + q] as number) + 1;
        const from = ((r - rows.start) * width + (q - cols.start)) * c;
        merged.set(values.subarray(from, from + c), (r * w + q) * c);
      }
    }
  }
  const bad = written.findIndex((count) => count !== 1);
  modelAssert(bad === -1, 'ERR_MODEL_EXECUTION', () =>
    `mergeTiles: output cell (${Math.floor(bad / w)}, ${bad % w}) is written ${written[bad]} times`);
  return merged;
}

/**
 * The reference executor: runs a plan's steps on the TF.js backend of `tf` one slice at a time,
 * as the devices would, and merges them the way the owner does. Returns the model's output
 * (batchless). Call it inside `tf.tidy`, or dispose the result and intermediates yourself.
 *
 * @param input the image, [H, W, C].
 */
export function executePlan(
  tf: TfModule,
  graph: ModelGraph,
  weights: ModelWeights,
  steps: readonly PlanStep[],
  input: Tensor,
  options: ExecuteOptions = {},
): Tensor {
  const values = new Map<number, Tensor>([[graph.inputId, input]]);
  const full = (id: number): Tensor3D => {
    const value = values.get(id);
    if (value === undefined) throw new ModelError('ERR_MODEL_EXECUTION', `executePlan: node ${id} is used before it is computed`);
    return value as Tensor3D;
  };
  for (const step of steps) {
    switch (step.kind) {
      case 'owner':
        for (const id of step.nodeIds) values.set(id, runWhole(tf, graph, weights, nodeAt(graph, id), values, options));
        break;
      case 'spatial': {
        const outputId = step.nodeIds[step.nodeIds.length - 1] as number;
        const tiles = step.slices.map((slice) => ({ slice, output: runTileSlice(tf, graph, weights, slice, full) }));
        values.set(outputId, mergeTiles(tf, nodeAt(graph, outputId).outputShape, tiles));
        break;
      }
      case 'resident': {
        // Layer by layer, as the strips compute it: each device's rows from the whole previous map.
        for (const layer of step.layers) {
          const tiles = layer.slices.map(({ device, node }) => {
            const slice = residentLayerSlice(device, node);
            return { slice, output: runTileSlice(tf, graph, weights, slice, full) };
          });
          values.set(layer.nodeId, mergeTiles(tf, nodeAt(graph, layer.nodeId).outputShape, tiles));
        }
        break;
      }
      case 'fc': {
        const node = nodeAt(graph, step.nodeId);
        const x = full(node.inputs[0] as number).dataSync() as Float32Array;
        const y = new Float64Array(shapeSize(node.outputShape));
        for (const worker of step.workers) addFcPartial(y, worker, runFcSlice(x, worker));
        values.set(step.nodeId, finishFc(tf, weights, node, y));
        break;
      }
    }
  }
  return full(graph.outputId);
}

/** One device's share of a Dense layer: its partial sums for `slice.outputIndex`, from `x[slice.inputIndex]`. */
export function runFcSlice(x: Float32Array, slice: Pick<FcWorkerSlice, 'inputIndex' | 'weights'>): Float32Array {
  return Float32Array.from(csrVecMul(Array.from(slice.inputIndex, (i) => x[i] as number), slice.weights));
}

/** Scatter-adds a device's partial sums into the layer's output (the owner's merge). */
export function addFcPartial(y: Float64Array, slice: Pick<FcWorkerSlice, 'outputIndex'>, partial: ArrayLike<number>): void {
  slice.outputIndex.forEach((j, k) => {
    y[j] = (y[j] as number) + (partial[k] as number);
  });
}

/** Bias and activation of a split Dense layer, on the owner: it alone sees every contribution to an output. */
export function finishFc(tf: TfModule, weights: ModelWeights, node: GraphNode, y: Float64Array): Tensor {
  const attrs = node.attrs;
  modelAssert(attrs.op === 'dense', 'ERR_MODEL_EXECUTION', () => `finishFc: '${node.name}' is ${attrs.op}, not dense`);
  let out: Tensor = tf.tensor1d(Float32Array.from(y));
  if (attrs.op === 'dense' && attrs.useBias) {
    const bias = node.weights[1];
    if (bias !== undefined) out = tf.add(out, tf.tensor1d(denseWeight(weights, bias.name, bias.shape)));
  }
  if (attrs.op !== 'dense') return out;
  return applyNode(tf, { ...node, attrs: { op: 'activation', activation: attrs.activation }, weights: [] }, weights, [{ band: out, pad: noPadding }]);
}

/** Runs the whole graph on the owner alone, node by node, through the same kernels as slices. */
export function executeWhole(tf: TfModule, graph: ModelGraph, weights: ModelWeights, input: Tensor, options: ExecuteOptions = {}): Tensor {
  const steps: PlanStep[] = [{ kind: 'owner', nodeIds: graph.nodes.filter((n) => n.id !== graph.inputId).map((n) => n.id) }];
  return executePlan(tf, graph, weights, steps, input, options);
}
