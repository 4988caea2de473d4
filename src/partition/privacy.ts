/**
 * Input privacy: how many leading layer units the owner keeps so that raw pixels never leave it.
 * Pure: graph in, a unit count out; the planner keeps that many units on the owner.
 */
import type { ModelGraph } from '../model/index.ts';
import { layerUnits, type LayerUnit } from './units.ts';

/**
 * What the owner keeps: 'off' (workers may get the image), 'firstLayer' (through the first layer
 * with weights), 'firstBlock' (every layer up to and including the first one that shrinks
 * the image, e.g. VGG's block1 through its pooling).
 */
export type InputPrivacy = 'off' | 'firstLayer' | 'firstBlock';

/** A unit with weights transforms the pixels; padding, pooling and reshapes only move or drop them. */
const transforms = (graph: ModelGraph, unit: LayerUnit): boolean => unit.nodeIds.some((id) => (graph.nodes[id]?.weights.length ?? 0) > 0);

/**
 * The nodes whose output is still the image: the input, and every node without weights that
 * reads only such nodes (padding, pooling, reshapes move or drop pixels, they do not hide them).
 */
export function pixelNodes(graph: ModelGraph): Set<number> {
  const pixels = new Set<number>([graph.inputId]);
  for (const node of graph.nodes) if (node.weights.length === 0 && node.inputs.length > 0 && node.inputs.every((i) => pixels.has(i))) pixels.add(node.id);
  return pixels;
}

/**
 * Layer units (as `layerUnits` counts them) the owner must run for `privacy`. Never fewer than
 * reach the last unit that reads the image (`pixelNodes`): a skip connection from the image, or
 * from a padded or pooled copy of it, would otherwise send pixels to a worker.
 */
export function privateUnitCount(graph: ModelGraph, privacy: InputPrivacy): number {
  if (privacy === 'off') return 0;
  const units = layerUnits(graph);
  const firstLayer = units.findIndex((u) => transforms(graph, u));
  if (firstLayer < 0) return units.length;
  let kept = firstLayer + 1;
  if (privacy === 'firstBlock') {
    const inputHeight = graph.nodes[graph.inputId]?.outputShape[0];
    const shrinks = units.findIndex((u) => {
      const height = graph.nodes[u.outputId]?.outputShape[0];
      return u.spatial && height !== undefined && inputHeight !== undefined && height < inputHeight;
    });
    if (shrinks >= 0) kept = Math.max(kept, shrinks + 1);
  }
  const pixels = pixelNodes(graph);
  const readsInput = units.map((u, i) => (u.nodeIds.some((id) => graph.nodes[id]?.inputs.some((input) => pixels.has(input))) ? i : -1));
  return Math.max(kept, Math.max(...readsInput) + 1);
}
