import type { GraphNode, ModelGraph, Shape } from './graph.ts';
import type { KerasConfig } from './kerasConfig.ts';
import { ModelError, modelAssert } from './errors.ts';
import { lowerLayer } from './lowerLayer.ts';

/** One layer entry of a Keras topology, normalised. */
interface LayerEntry {
  readonly name: string;
  readonly className: string;
  readonly config: KerasConfig;
  /** Producer layer names, in argument order. */
  readonly inbound: readonly string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function topologyError(message: string): never {
  throw new ModelError('ERR_MODEL_TOPOLOGY', `lowerModel: ${message}`);
}

/** Accepts a whole model.json ({modelTopology}), a Keras `{model_config}` wrapper or the topology itself. */
function unwrapTopology(json: unknown): Record<string, unknown> {
  if (!isRecord(json)) return topologyError('the topology is not an object');
  if (isRecord(json['modelTopology'])) return unwrapTopology(json['modelTopology']);
  if (isRecord(json['model_config'])) return unwrapTopology(json['model_config']);
  return json;
}

function inboundNames(layerName: string, inboundNodes: unknown): string[] {
  if (inboundNodes === undefined || (Array.isArray(inboundNodes) && inboundNodes.length === 0)) return [];
  if (!Array.isArray(inboundNodes)) return topologyError(`layer '${layerName}' has malformed inbound_nodes`);
  if (inboundNodes.length > 1) {
    return topologyError(`layer '${layerName}' is called ${inboundNodes.length} times; shared layers are not supported`);
  }
  const call: unknown = inboundNodes[0];
  if (!Array.isArray(call)) return topologyError(`layer '${layerName}' has malformed inbound_nodes`);
  return call.map((argument: unknown) => {
    if (Array.isArray(argument) && typeof argument[0] === 'string') return argument[0];
    return topologyError(`layer '${layerName}' has an inbound entry ${JSON.stringify(argument)}`);
  });
}

function parseLayer(raw: unknown): Omit<LayerEntry, 'inbound'> & { inboundNodes: unknown } {
  if (!isRecord(raw) || typeof raw['class_name'] !== 'string' || !isRecord(raw['config'])) {
    return topologyError(`malformed layer entry ${JSON.stringify(raw)?.slice(0, 200)}`);
  }
  const config = raw['config'];
  const name = typeof raw['name'] === 'string' ? raw['name'] : config['name'];
  if (typeof name !== 'string') return topologyError(`a ${raw['class_name']} layer has no name`);
  return { name, className: raw['class_name'], config, inboundNodes: raw['inbound_nodes'] };
}

function batchShape(entry: { name: string; config: KerasConfig }): Shape | undefined {
  const shape = entry.config['batch_input_shape'] ?? entry.config['batch_shape'];
  if (shape === undefined || shape === null) return undefined;
  if (!Array.isArray(shape) || shape.slice(1).some((d) => typeof d !== 'number')) {
    return topologyError(`layer '${entry.name}' has input shape ${JSON.stringify(shape)}; every non-batch dimension must be known`);
  }
  return shape.slice(1) as number[];
}

/** Normalises Sequential and functional topologies into layer entries with explicit inbound names. */
function layerEntries(topology: Record<string, unknown>): { entries: LayerEntry[]; output: string; modelName: string } {
  const className = topology['class_name'];
  const rawConfig = topology['config'];
  const modelName = isRecord(rawConfig) && typeof rawConfig['name'] === 'string' ? rawConfig['name'] : 'model';
  const rawLayers = Array.isArray(rawConfig) ? rawConfig : isRecord(rawConfig) ? rawConfig['layers'] : undefined;
  if (!Array.isArray(rawLayers) || rawLayers.length === 0) return topologyError('the topology has no layers');
  const parsed = rawLayers.map(parseLayer);

  if (className === 'Sequential') {
    const entries: LayerEntry[] = [];
    const first = parsed[0];
    if (first !== undefined && first.className !== 'InputLayer') {
      const shape = batchShape(first);
      if (shape === undefined) return topologyError(`Sequential layer '${first.name}' declares no input shape`);
      entries.push({ name: `${first.name}_input`, className: 'InputLayer', config: { batch_input_shape: [null, ...shape] }, inbound: [] });
    }
    for (const layer of parsed) {
      const previous = entries[entries.length - 1];
      entries.push({ name: layer.name, className: layer.className, config: layer.config, inbound: previous === undefined ? [] : [previous.name] });
    }
    return { entries, output: entries[entries.length - 1]?.name ?? '', modelName };
  }

  if (className !== 'Model' && className !== 'Functional') {
    return topologyError(`unsupported model class '${String(className)}'`);
  }
  const config = rawConfig as Record<string, unknown>;
  const inputs = config['input_layers'];
  const outputs = config['output_layers'];
  if (!Array.isArray(inputs) || inputs.length !== 1 || !Array.isArray(outputs) || outputs.length !== 1) {
    return topologyError('only models with exactly one input and one output are supported');
  }
  const output: unknown = (outputs[0] as unknown[])[0];
  if (typeof output !== 'string') return topologyError(`malformed output_layers ${JSON.stringify(outputs)}`);
  const entries = parsed.map((layer) => ({ name: layer.name, className: layer.className, config: layer.config, inbound: inboundNames(layer.name, layer.inboundNodes) }));
  return { entries, output, modelName };
}

/**
 * Lowers a Keras/TF.js LayersModel topology (the `modelTopology` of a model.json, the object
 * `tf.LayersModel.toJSON(null, false)` returns, or the whole model.json) into a `ModelGraph`.
 *
 * Shapes are inferred here, so the JSON alone suffices for every modelled layer. Layers this project
 * does not model become `opaque` nodes (the planner leaves them to the owner); their output shapes
 * must come from `knownOutputShapes` (`lowerLayersModel` supplies them from a live model).
 *
 * @param json the topology; channels_last, single input, single output, no shared layers.
 * @param knownOutputShapes optional batchless output shape per layer name.
 */
export function lowerModelJson(json: unknown, knownOutputShapes?: ReadonlyMap<string, Shape>): ModelGraph {
  const { entries, output, modelName } = layerEntries(unwrapTopology(json));
  const byName = new Map(entries.map((entry) => [entry.name, entry]));
  modelAssert(byName.size === entries.length, 'ERR_MODEL_TOPOLOGY', () => 'lowerModel: two layers share a name');

  // Depth-first from the output gives a topological order of exactly the layers that matter.
  const order: LayerEntry[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string): void => {
    const mark = state.get(name);
    if (mark === 'done') return;
    if (mark === 'visiting') topologyError(`the graph has a cycle through '${name}'`);
    const entry = byName.get(name);
    if (entry === undefined) return topologyError(`layer '${name}' is referenced but not defined`);
    state.set(name, 'visiting');
    entry.inbound.forEach(visit);
    state.set(name, 'done');
    order.push(entry);
  };
  visit(output);

  const ids = new Map(order.map((entry, id) => [entry.name, id]));
  const nodes: GraphNode[] = [];
  let inputId = -1;
  for (const [id, entry] of order.entries()) {
    const inputs = entry.inbound.map((name) => ids.get(name) as number);
    const inputShapes = inputs.map((input) => (nodes[input] as GraphNode).outputShape);
    if (entry.className === 'InputLayer') {
      modelAssert(inputId === -1, 'ERR_MODEL_TOPOLOGY', () => 'lowerModel: more than one InputLayer');
      const shape = batchShape(entry);
      if (shape === undefined) return topologyError(`InputLayer '${entry.name}' has no shape`);
      inputId = id;
      nodes.push({ id, name: entry.name, attrs: { op: 'input' }, inputs, inputShapes, outputShape: shape, flops: 0, weights: [], spatialRole: 'global' });
      continue;
    }
    modelAssert(inputs.length > 0, 'ERR_MODEL_TOPOLOGY', () => `lowerModel: layer '${entry.name}' has no inputs`);
    const lowered = lowerLayer(entry.className, entry.name, entry.config, inputShapes, knownOutputShapes?.get(entry.name));
    nodes.push({ id, name: entry.name, inputs, inputShapes, ...lowered });
  }
  modelAssert(inputId !== -1, 'ERR_MODEL_TOPOLOGY', () => 'lowerModel: the output does not depend on an InputLayer');
  return { name: modelName, nodes, inputId, outputId: nodes.length - 1 };
}

/** What `lowerLayersModel` needs of a `tf.LayersModel` (structural, so this layer does not load TF.js). */
export interface LayersModelLike {
  toJSON(unused?: null, returnString?: boolean): unknown;
  readonly layers: readonly { readonly name: string; readonly outputShape: unknown }[];
}

/**
 * Lowers a live `tf.LayersModel`. Unlike `lowerModelJson`, layers this project does not model still
 * get their output shapes (from the live layers), so any LayersModel lowers without error.
 */
export function lowerLayersModel(model: LayersModelLike): ModelGraph {
  const shapes = new Map<string, Shape>();
  for (const layer of model.layers) {
    const shape = layer.outputShape;
    if (Array.isArray(shape) && shape.slice(1).every((d) => typeof d === 'number')) {
      shapes.set(layer.name, shape.slice(1) as number[]);
    }
  }
  return lowerModelJson(model.toJSON(null, false), shapes);
}
