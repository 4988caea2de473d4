/**
 * The runtime protocol's schemas: what the planner really sends passes, what a hostile peer could
 * send instead does not (bounded model specs, tile slices that fit their model, sane replies).
 */
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { buildMobileNetV2, buildVgg16 } from '../model/index.ts';
import { planInference, type DeviceProfile, type SpatialScheme } from '../partition/index.ts';
import {
  loadSchema,
  modelKeyOf,
  modelSpecSchema,
  parseReply,
  profileReplySchema,
  taskReplySchema,
  tileSliceMisfit,
  tileSliceSchema,
  type ModelSpec,
} from './protocol.ts';

const profile = (id: string): DeviceProfile => ({ id, aMsPerFlop: 1e-4, bMs: 0.5, bandwidthBytesPerMs: 100_000, wakeMs: 1, memoryBytes: 1e9 });
const DEVICES = [profile('owner'), profile('w1'), profile('w2')];
type TileSlice = v.InferOutput<typeof tileSliceSchema>;

describe('model specs', () => {
  it.each([
    ['vgg16 small', { kind: 'zoo', name: 'vgg16', options: { inputSize: 32, widthMultiplier: 1 / 16, classes: 10 } }],
    ['vgg16 full', { kind: 'zoo', name: 'vgg16', options: { inputSize: 224, widthMultiplier: 1, classes: 1000 } }],
    ['vgg16 with densities and seed', { kind: 'zoo', name: 'vgg16', options: { fcDensities: [0.04, 0.04, 0.25], seed: 3 } }],
    ['mobilenetv2 odd size', { kind: 'zoo', name: 'mobilenetv2', options: { inputSize: 33 } }],
    ['served clothing model', { kind: 'served', url: '/models/clothing/model.json', hash: 'a'.repeat(64) }],
  ])('takes the %s spec', (_name, spec) => {
    expect(v.safeParse(modelSpecSchema, spec).success).toBe(true);
  });

  it.each([
    ['a VGG-16 100× the full size', { kind: 'zoo', name: 'vgg16', options: { inputSize: 22_400 } }],
    ['a width multiplier of 1000', { kind: 'zoo', name: 'vgg16', options: { widthMultiplier: 1000 } }],
    ['a billion classes', { kind: 'zoo', name: 'mobilenetv2', options: { classes: 1e9 } }],
    ['an option the model does not have', { kind: 'zoo', name: 'mobilenetv2', options: { widthMultiplier: 1 } }],
    ['a negative alpha', { kind: 'zoo', name: 'mobilenetv2', options: { alpha: -1 } }],
    ['an unknown model', { kind: 'zoo', name: 'resnet', options: {} }],
    ['a density above 1', { kind: 'zoo', name: 'vgg16', options: { fcDensities: [2, 0.5, 0.5] } }],
    ['a served model outside /models/', { kind: 'served', url: '/models/../private/model.json', hash: 'a'.repeat(64) }],
  ])('refuses %s', (_name, spec) => {
    expect(v.safeParse(loadSchema, { method: 'runtime.load', spec }).success).toBe(false);
  });

  it('gives the same key whatever the order of the options, and different keys for different options', () => {
    const a: ModelSpec = { kind: 'zoo', name: 'vgg16', options: { inputSize: 32, classes: 10 } };
    const b: ModelSpec = { kind: 'zoo', name: 'vgg16', options: { classes: 10, inputSize: 32 } };
    const c: ModelSpec = { kind: 'zoo', name: 'vgg16', options: { classes: 11, inputSize: 32 } };
    expect(modelKeyOf(a)).toBe(modelKeyOf(b));
    expect(modelKeyOf(a)).not.toBe(modelKeyOf(c));
  });
});

describe('tile slices against their model', () => {
  const models = [
    ['VGG-16 1/16', buildVgg16({ inputSize: 32, widthMultiplier: 1 / 16, classes: 10 }).graph],
    ['MobileNetV2 33', buildMobileNetV2({ inputSize: 33 }).graph],
  ] as const;
  const schemes: SpatialScheme[] = ['bodp', 'fused', 'grid'];
  const slicesOf = (graph: (typeof models)[number][1], scheme: SpatialScheme): TileSlice[] =>
    planInference(graph, DEVICES, { spatialSchemes: [scheme], allowOwnerOnly: false, excludeDevices: false }).steps.flatMap((p) =>
      p.step.kind === 'spatial' ? p.step.slices.map((s) => v.parse(tileSliceSchema, JSON.parse(JSON.stringify(s)))) : [],
    );

  it.each(models.flatMap(([name, graph]) => schemes.map((scheme) => [`${name} ${scheme}`, graph, scheme] as const)))('every slice the planner makes fits: %s', (_name, graph, scheme) => {
    const slices = slicesOf(graph, scheme);
    expect(slices.length).toBeGreaterThan(0);
    for (const slice of slices) expect(tileSliceMisfit(graph, slice)).toBeNull();
  });

  const graph = models[0][1];
  const base = slicesOf(graph, 'bodp')[0] as TileSlice;
  const edit = (change: (s: TileSlice) => void): TileSlice => {
    const copy = structuredClone(base);
    change(copy);
    return copy;
  };
  it.each([
    ['a tile far below the map', edit((s) => (s.tile.rows.end = 60_000)), /tile is outside/],
    ['a node computing rows the map does not have', edit((s) => ((s.nodes[0] as TileSlice['nodes'][number]).out.rows.end = 5_000)), /outside its output/],
    ['an input rectangle with negative columns', edit((s) => ((s.inputs[0] as TileSlice['inputs'][number]).rect.cols.start = -40)), /outside its map/],
    ['a node that does not exist', edit((s) => ((s.nodes[0] as TileSlice['nodes'][number]).nodeId = 100_000)), /node 100000 is not a feature map/],
    ['a node reading rows shifted by one, inside the map', edit((s) => ((s.nodes[0] as TileSlice['nodes'][number]).inputs[0] as { rect: { rows: { start: number } } }).rect.rows.start += 1), /not the slice of its tile/],
    ['a node repeated (its work done twice)', edit((s) => s.nodes.unshift(structuredClone(s.nodes[0] as TileSlice['nodes'][number]))), /repeated or out of order/],
    ['padding of a thousand cells', edit((s) => ((s.nodes[0] as TileSlice['nodes'][number]).inputs[0] as { pad: { top: number } }).pad.top = 1_000), /pads/],
  ])('refuses %s', (_name, slice, reason) => {
    expect(tileSliceMisfit(graph, slice)).toMatch(reason);
  });
});

describe('replies', () => {
  it('takes a sane task timing and a profile', () => {
    expect(parseReply(taskReplySchema, { computeMs: 3.5, computeStartMs: 100, computeEndMs: 103.5 })).toEqual({ computeMs: 3.5, computeStartMs: 100, computeEndMs: 103.5 });
    expect(parseReply(profileReplySchema, { backend: 'wasm', adapter: null, aMsPerFlop: 1e-6, bMs: 0.2 })).toMatchObject({ backend: 'wasm' });
  });

  it.each([
    ['a negative compute time', { computeMs: -1, computeStartMs: 0, computeEndMs: 1 }],
    ['an hour of compute', { computeMs: 3.6e6, computeStartMs: 0, computeEndMs: 3.6e6 }],
    ['a window that ends before it starts', { computeMs: 1, computeStartMs: 10, computeEndMs: 5 }],
    ['a string for a number', { computeMs: '1', computeStartMs: 0, computeEndMs: 1 }],
    ['nothing', null],
  ])('refuses a task timing with %s', (_name, meta) => {
    expect(parseReply(taskReplySchema, meta)).toBeNull();
  });

  it.each([
    ['zero cost per FLOP (it would get every task)', { backend: 'wasm', adapter: null, aMsPerFlop: 0, bMs: 0 }],
    ['an endless backend name', { backend: 'x'.repeat(1_000), adapter: null, aMsPerFlop: 1e-6, bMs: 0 }],
    ['a speed of 10^20 FLOP/s', { backend: 'wasm', adapter: null, aMsPerFlop: 1e-17, bMs: 0 }],
  ])('refuses a profile with %s', (_name, meta) => {
    expect(parseReply(profileReplySchema, meta)).toBeNull();
  });
});
