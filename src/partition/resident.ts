import type { GraphNode, ModelGraph } from '../model/index.ts';
import { biasedSplit } from './biasedSplit.ts';
import { partitionAssert } from './errors.ts';
import type { Range } from './geometry.ts';
import { rangeLength, rectArea } from './geometry.ts';
import type { HaloTransfer, ResidentLayer, ResidentSlice, ResidentStep, WirePrecision } from './plan.ts';
import { sliceBlock, type NodeSlice, type TileSlice } from './spatialSlices.ts';
import { stripTiling } from './tilings.ts';
import { isClosedSpatialBlock } from './units.ts';
import type { ResidentTasks } from './cost.ts';
import { wireBytes } from './cost.ts';

/**
 * One layer of a resident run as a tile slice of its own (its node alone, reading the rows its cut
 * names of the producer): what a device runs, and what a worker checks it was asked for.
 */
export function residentLayerSlice(device: number, node: NodeSlice): TileSlice {
  const cut = node.inputs[0];
  partitionAssert(cut !== undefined && node.inputs.length === 1, 'ERR_PARTITION_BLOCK', () => `residentLayerSlice: node ${node.nodeId} is not a single-input layer`);
  return { device, tile: node.out, inputs: [{ nodeId: cut.producerId, rect: cut.rect }], nodes: [node] };
}

/**
 * True when `nodeIds` can be a resident run: a closed block of spatially local layers (see
 * `isClosedSpatialBlock`) that is a chain, each node having exactly one input, node k's input
 * being node k−1 (node 0's input is the run's input).
 */
export function isResidentChain(graph: ModelGraph, nodeIds: readonly number[]): boolean {
  if (nodeIds.length === 0 || !isClosedSpatialBlock(graph, nodeIds)) return false;
  return nodeIds.every((id, k) => {
    const inputs = (graph.nodes[id] as GraphNode).inputs;
    return inputs.length === 1 && (k === 0 ? !nodeIds.includes(inputs[0] as number) : inputs[0] === nodeIds[k - 1]);
  });
}

function node(graph: ModelGraph, id: number): GraphNode {
  return graph.nodes[id] as GraphNode;
}

function heightOf(graphNode: GraphNode): number {
  return graphNode.outputShape[0] as number;
}

function intersect(a: Range, b: Range): Range {
  return { start: Math.max(a.start, b.start), end: Math.min(a.end, b.end) };
}

/**
 * True when every device of `weights` gets at least one output row at every layer of the chain
 * under BODP's biased split (all weights must be > 0).
 */
export function residentSplitFits(graph: ModelGraph, nodeIds: readonly number[], weights: readonly number[]): boolean {
  if (weights.length === 0 || weights.some((w) => !(w > 0))) return false;
  return nodeIds.every((id) => biasedSplit(heightOf(node(graph, id)), weights).every((rows) => rows >= 1));
}

/**
 * The devices a resident run over `nodeIds` can use: those of `devices` whose weight is > 0, then,
 * while some layer would leave a device without an output row, dropping the one with the smallest
 * weight (the later one on ties). Keeps `devices` order; may return an empty list.
 *
 * @param weights one per entry of `devices`.
 */
export function residentDevices(graph: ModelGraph, nodeIds: readonly number[], devices: readonly number[], weights: readonly number[]): { devices: number[]; weights: number[] } {
  partitionAssert(devices.length === weights.length, 'ERR_PARTITION_ARGUMENT', () =>
    `residentDevices: ${devices.length} devices but ${weights.length} weights`);
  let kept = devices.map((device, i) => ({ device, weight: weights[i] as number })).filter((d) => d.weight > 0);
  while (kept.length > 0 && !residentSplitFits(graph, nodeIds, kept.map((d) => d.weight))) {
    let weakest = 0;
    kept.forEach((d, i) => {
      if (d.weight <= (kept[weakest] as { weight: number }).weight) weakest = i;
    });
    kept = kept.filter((_, i) => i !== weakest);
  }
  return { devices: kept.map((d) => d.device), weights: kept.map((d) => d.weight) };
}

/**
 * [ours] A resident run (ALGORITHMS.md §5): the chain `nodeIds` split in full-width row strips over
 * `devices` (plan indices, in strip order: the first gets the top rows), each layer's output rows
 * shared by BODP's biased split of `weights` (one per entry of `devices`). Per layer and device the
 * `NodeSlice` is `sliceBlock`'s for that node and the device's strip: `out` is full width, and
 * `inputs[0]` the exact cut of the producer with its border padding (full width except where a
 * 'valid' strided window never reads the last columns). Halos of layer k > 0, for each receiver in
 * strip order and then each sender in strip order: the rows of layer k−1's output the receiver's
 * cut reads that the sender computed. `inputs` are, per device, the rows of the run's input its
 * layer-0 cut reads, full width. Every device must get at least one output row at every layer
 * (see `residentDevices`), or this throws ERR_PARTITION_ARGUMENT.
 */
export function residentRun(graph: ModelGraph, nodeIds: readonly number[], devices: readonly number[], weights: readonly number[], wire: WirePrecision = 'float32'): ResidentStep {
  partitionAssert(isResidentChain(graph, nodeIds), 'ERR_PARTITION_BLOCK', () =>
    `residentRun: nodes [${nodeIds.join(', ')}] are not a closed chain of single-input spatially local layers`);
  partitionAssert(devices.length >= 1 && devices.length === weights.length && new Set(devices).size === devices.length, 'ERR_PARTITION_ARGUMENT', () =>
    `residentRun: devices [${devices.join(', ')}] need distinct entries and one weight each, got [${weights.join(', ')}]`);
  partitionAssert(residentSplitFits(graph, nodeIds, weights), 'ERR_PARTITION_ARGUMENT', () =>
    `residentRun: weights [${weights.join(', ')}] leave a device without output rows in some layer of [${nodeIds.join(', ')}]; use fewer devices`);

  const layers: ResidentLayer[] = [];
  let previous: readonly ResidentSlice[] | undefined;
  for (const id of nodeIds) {
    const graphNode = node(graph, id);
    const hw: [number, number] = [graphNode.outputShape[0] as number, graphNode.outputShape[1] as number];
    const tiles = stripTiling(hw, weights, 'rows').map((t, i) => ({ device: devices[i] as number, tile: t.tile }));
    const slices: ResidentSlice[] = sliceBlock(graph, [id], tiles).map((slice) => ({ device: slice.device, node: slice.nodes[0] as ResidentSlice['node'] }));
    const halos: HaloTransfer[] = [];
    if (previous !== undefined) {
      for (const receiver of slices) {
        const needed = (receiver.node.inputs[0] as ResidentSlice['node']['inputs'][number]).rect.rows;
        if (rangeLength(needed) === 0) continue;
        for (const sender of previous) {
          if (sender.device === receiver.device) continue;
          const rows = intersect(needed, sender.node.out.rows);
          if (rangeLength(rows) > 0) halos.push({ from: sender.device, to: receiver.device, rows });
        }
      }
    }
    layers.push({ nodeId: id, slices, halos });
    previous = slices;
  }
  const inputId = node(graph, nodeIds[0] as number).inputs[0] as number;
  const inputWidth = node(graph, inputId).outputShape[1] as number;
  const inputs = (layers[0] as ResidentLayer).slices.map((slice) => ({
    device: slice.device,
    nodeId: inputId,
    rect: { rows: (slice.node.inputs[0] as ResidentSlice['node']['inputs'][number]).rect.rows, cols: { start: 0, end: inputWidth - 1 } },
  }));
  const step: ResidentStep = { kind: 'resident', nodeIds: [...nodeIds], devices: [...devices], inputs, layers };
  return wire === 'float32' ? step : { ...step, wire };
}

/**
 * What a resident run costs, for `predictResident`: the owner's scatter and gather bytes, and per
 * layer each device's FLOPs and the halo bytes, all at the step's wire precision.
 */
export function residentTasks(graph: ModelGraph, step: ResidentStep): ResidentTasks {
  const wire = step.wire ?? 'float32';
  const rowBytes = (nodeId: number, rows: Range): number => {
    const [, w, c] = node(graph, nodeId).outputShape as [number, number, number];
    return rangeLength(rows) === 0 ? 0 : wireBytes(rangeLength(rows) * w * c, wire);
  };
  const scatterBytes = step.devices.map((device) => {
    const input = step.inputs.find((i) => i.device === device);
    return input === undefined ? 0 : rowBytes(input.nodeId, input.rect.rows);
  });
  const lastLayer = step.layers[step.layers.length - 1] as ResidentLayer;
  const gatherBytes = step.devices.map((device) => {
    const slice = lastLayer.slices.find((s) => s.device === device);
    return slice === undefined ? 0 : rowBytes(lastLayer.nodeId, slice.node.out.rows);
  });
  const layers = step.layers.map((layer, k) => {
    const graphNode = node(graph, layer.nodeId);
    const [h, w] = graphNode.outputShape as [number, number];
    const producer = k === 0 ? undefined : (step.layers[k - 1] as ResidentLayer).nodeId;
    return {
      flops: step.devices.map((device) => {
        const slice = layer.slices.find((s) => s.device === device);
        return slice === undefined ? 0 : (graphNode.flops * rectArea(slice.node.out)) / (h * w);
      }),
      kernels: graphNode.flops > 0 ? 1 : 0,
      halos: producer === undefined ? [] : layer.halos.map((halo) => ({ from: halo.from, to: halo.to, bytes: rowBytes(producer, halo.rows) })),
    };
  });
  return { devices: step.devices, scatterBytes, layers, gatherBytes };
}

/**
 * Float32 bytes a device holds during the run beyond the weights: the largest (input cut + output
 * strip) of any layer. For the planner's memory check.
 */
export function residentActivationBytes(graph: ModelGraph, step: ResidentStep, device: number): number {
  let most = 0;
  for (const layer of step.layers) {
    const slice = layer.slices.find((s) => s.device === device);
    if (slice === undefined) continue;
    const channels = node(graph, layer.nodeId).outputShape[2] as number;
    const cut = slice.node.inputs[0];
    const inputChannels = cut === undefined ? 0 : (node(graph, cut.producerId).outputShape[2] as number);
    const bytes = 4 * (rectArea(slice.node.out) * channels + (cut === undefined ? 0 : rectArea(cut.rect) * inputChannels));
    most = Math.max(most, bytes);
  }
  return most;
}
