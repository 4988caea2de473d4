import type { GraphNode, ModelGraph } from '../model/index.ts';
import { consumersOf } from '../model/index.ts';

/**
 * A layer unit: what "one layer" means to per-layer BODP. A window node (conv, depthwise, pooling,
 * zero padding) together with the chain of point-wise nodes that directly follow it (BN, ReLU,
 * dropout, a residual Add), as long as each link of the chain has a single consumer. Keras models
 * write conv → BN → ReLU as three layers; shipping BN's output over the network would be absurd.
 * Every global node (Flatten, Dense, global pooling, opaque layers) is a unit of its own.
 */
export interface LayerUnit {
  /** Node ids in topological order. */
  readonly nodeIds: readonly number[];
  /** The last node: the unit's output. */
  readonly outputId: number;
  /** True when every node is window or point-wise: the unit can be split spatially. */
  readonly spatial: boolean;
}

/** Groups the graph's nodes (except the input) into layer units, in topological order. */
export function layerUnits(graph: ModelGraph): LayerUnit[] {
  const consumers = consumersOf(graph);
  const units: { nodeIds: number[]; spatial: boolean }[] = [];
  for (const node of graph.nodes) {
    if (node.attrs.op === 'input') continue;
    const current = units[units.length - 1];
    const last = current?.nodeIds[current.nodeIds.length - 1];
    const extendsChain = current !== undefined && current.spatial && last !== undefined
      && node.spatialRole === 'pointwise'
      && node.inputs.includes(last)
      && consumers[last]?.length === 1;
    if (extendsChain) current.nodeIds.push(node.id);
    else units.push({ nodeIds: [node.id], spatial: node.spatialRole !== 'global' && isImage(node) });
  }
  return units.map((unit) => ({ ...unit, outputId: unit.nodeIds[unit.nodeIds.length - 1] as number }));
}

function isImage(node: GraphNode): boolean {
  return node.outputShape.length === 3 && node.inputShapes.every((shape) => shape.length === 3);
}

/**
 * True when `nodeIds` (topologically sorted) form a closed block: every node is spatially local,
 * and no node but the last has a consumer outside the block, so intermediate maps never leave
 * the device that computes the block.
 */
export function isClosedSpatialBlock(graph: ModelGraph, nodeIds: readonly number[]): boolean {
  const consumers = consumersOf(graph);
  const inside = new Set(nodeIds);
  const outputId = nodeIds[nodeIds.length - 1];
  return nodeIds.every((id) => {
    const node = graph.nodes[id];
    if (node === undefined || node.spatialRole === 'global' || !isImage(node)) return false;
    return id === outputId || (consumers[id] ?? []).every((consumer) => inside.has(consumer));
  });
}
