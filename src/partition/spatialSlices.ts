import type { GraphNode, ModelGraph, Padding2d } from '../model/index.ts';
import { nodeWindow } from '../model/index.ts';
import type { Range, Rect } from './geometry.ts';
import { backProjectAxis, rectArea, rectHull, sliceBorderPadding } from './geometry.ts';
import { partitionAssert } from './errors.ts';
import { isClosedSpatialBlock } from './units.ts';
import { wireBytes } from './cost.ts';
import type { WirePrecision } from './plan.ts';

const noPadding: Padding2d = { top: 0, bottom: 0, left: 0, right: 0 };

/** What one input of a node slice reads: a rectangle of its producer's output, plus border padding. */
export interface InputCut {
  readonly producerId: number;
  /** In the producer's output coordinates; lies within what the slice holds of the producer. */
  readonly rect: Rect;
  /** True border padding to add around `rect` before running the op with 'valid' padding. */
  readonly pad: Padding2d;
}

/** One node of a block, as computed by one device. */
export interface NodeSlice {
  readonly nodeId: number;
  /** The part of the node's output this device computes. */
  readonly out: Rect;
  /** One cut per node input, in the node's argument order. */
  readonly inputs: readonly InputCut[];
}

/** The slice of a block one device computes: exactly which input rows/cols it needs, and how. */
export interface TileSlice {
  /** Index into the plan's device list. */
  readonly device: number;
  /** The part of the block's output this device returns. */
  readonly tile: Rect;
  /** Rectangles of the block's external inputs that must be sent to the device. */
  readonly inputs: readonly { readonly nodeId: number; readonly rect: Rect }[];
  /** Nodes in topological order. */
  readonly nodes: readonly NodeSlice[];
}

/** A device's output tile of a block, before back-projection. */
export interface TileAssignment {
  readonly device: number;
  readonly tile: Rect;
}

function cutThrough(node: GraphNode, producer: GraphNode, out: Rect): InputCut {
  const window = nodeWindow(node);
  const [inH, inW] = producer.outputShape as [number, number, number];
  if (window === undefined) {
    return { producerId: producer.id, rect: out, pad: noPadding };
  }
  const rows = backProjectAxis(out.rows, { kernel: window.kernel[0], stride: window.strides[0], dilation: window.dilation[0], padBefore: window.padding.top }, inH);
  const cols = backProjectAxis(out.cols, { kernel: window.kernel[1], stride: window.strides[1], dilation: window.dilation[1], padBefore: window.padding.left }, inW);
  return { producerId: producer.id, rect: { rows: rows.range, cols: cols.range }, pad: sliceBorderPadding(rows, cols) };
}

/**
 * Back-projects each device's output tile of a closed spatial block (one layer unit, or several
 * fused) through every node to the block's inputs (ALGORITHMS.md §3, §5). A node feeding several
 * consumers inside the block computes the hull of what they need. Devices with an empty tile are
 * left out of the result.
 *
 * @param nodeIds the block, topologically sorted; its last node is the block output.
 */
export function sliceBlock(graph: ModelGraph, nodeIds: readonly number[], tiles: readonly TileAssignment[]): TileSlice[] {
  partitionAssert(nodeIds.length > 0 && isClosedSpatialBlock(graph, nodeIds), 'ERR_PARTITION_BLOCK', () =>
    `sliceBlock: nodes [${nodeIds.join(', ')}] are not a closed block of spatially local layers`);
  const inside = new Set(nodeIds);
  const outputId = nodeIds[nodeIds.length - 1] as number;
  const slices: TileSlice[] = [];
  for (const { device, tile } of tiles) {
    if (rectArea(tile) === 0) continue;
    const needed = new Map<number, Rect>([[outputId, tile]]);
    const nodeSlices: NodeSlice[] = [];
    for (let k = nodeIds.length - 1; k >= 0; k--) {
      const node = graph.nodes[nodeIds[k] as number] as GraphNode;
      const out = needed.get(node.id);
      if (out === undefined || rectArea(out) === 0) continue;
      const inputs = node.inputs.map((producerId) => cutThrough(node, graph.nodes[producerId] as GraphNode, out));
      for (const cut of inputs) {
        // A cut that lies wholly in a zero-padding border reads nothing from its producer.
        if (rectArea(cut.rect) === 0) continue;
        const previous = needed.get(cut.producerId);
        needed.set(cut.producerId, previous === undefined ? cut.rect : rectHull(previous, cut.rect));
      }
      nodeSlices.push({ nodeId: node.id, out, inputs });
    }
    nodeSlices.reverse();
    const externalInputs = [...needed.entries()]
      .filter(([nodeId]) => !inside.has(nodeId))
      .sort(([a], [b]) => a - b)
      .map(([nodeId, rect]) => ({ nodeId, rect }));
    slices.push({ device, tile, inputs: externalInputs, nodes: nodeSlices });
  }
  return slices;
}

/** Bytes, FLOPs and halo overhead of one tile slice (activations at the wire precision, float32 by default). */
export interface SliceCost {
  /** Input activation bytes the device must receive. */
  readonly inputBytes: number;
  /** Output activation bytes it returns. */
  readonly outputBytes: number;
  /** FLOPs it computes, redundant halo work included. */
  readonly flops: number;
}

/** FLOPs scale with output cells for every spatially local op, so a slice costs its share of each node. */
export function sliceCost(graph: ModelGraph, slice: TileSlice, wire: WirePrecision = 'float32'): SliceCost {
  const channelsOf = (nodeId: number): number => (graph.nodes[nodeId]?.outputShape[2] ?? 0);
  const inputBytes = slice.inputs.reduce((sum, input) => sum + wireBytes(rectArea(input.rect) * channelsOf(input.nodeId), wire), 0);
  const lastNode = slice.nodes[slice.nodes.length - 1];
  const outputBytes = lastNode === undefined ? 0 : wireBytes(rectArea(slice.tile) * channelsOf(lastNode.nodeId), wire);
  const flops = slice.nodes.reduce((sum, nodeSlice) => {
    const node = graph.nodes[nodeSlice.nodeId] as GraphNode;
    const [h, w] = node.outputShape as [number, number];
    return sum + (node.flops * rectArea(nodeSlice.out)) / (h * w);
  }, 0);
  return { inputBytes, outputBytes, flops };
}

/** The whole output of a node as a rect. */
export function fullRect(node: GraphNode): Rect {
  const [h, w] = node.outputShape as [number, number];
  return { rows: { start: 0, end: h - 1 }, cols: { start: 0, end: w - 1 } };
}

/** A rect spanning given rows and all columns (or the converse). */
export function stripRect(range: Range, along: 'rows' | 'cols', height: number, width: number): Rect {
  return along === 'rows'
    ? { rows: range, cols: { start: 0, end: width - 1 } }
    : { rows: { start: 0, end: height - 1 }, cols: range };
}
