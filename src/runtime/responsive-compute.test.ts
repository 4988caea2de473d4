/**
 * A device that computes for seconds must still answer its peers: the mesh's heartbeat takes a
 * page that stays silent for 2.5 s for gone. The worker runs a fused block one layer at a time and
 * the owner its own layers likewise, giving the event loop a turn in between. Here a stand-in for
 * the data channel's events (a message ping-pong on a MessageChannel) must get turns while a
 * multi-layer task is in progress.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { yieldToEventLoop } from '../compute/index.ts';
import { MessageLink, memoryTransportPair } from '../mesh/index.ts';
import { planInference, type DeviceProfile, type TileSlice } from '../partition/index.ts';
import { executeWhole } from './local-executor.ts';
import { OwnerRuntime } from './owner-runtime.ts';
import { RuntimeMethod, type ModelSpec } from './protocol.ts';
import { WorkerExecutor, resolveZooModel } from './worker-executor.ts';

/** Events the page must keep handling: counts its turns, and whether each came mid-task. */
function eventStandIn(isMidTask: () => boolean) {
  const channel = new MessageChannel();
  const counts = { turns: 0, midTask: 0 };
  let running = true;
  channel.port1.onmessage = () => {
    counts.turns++;
    if (isMidTask()) counts.midTask++;
    if (running) channel.port2.postMessage(null);
  };
  channel.port2.postMessage(null);
  return {
    counts,
    stop: () => {
      running = false;
      channel.port1.close();
    },
  };
}

const spec: Extract<ModelSpec, { kind: 'zoo' }> = { kind: 'zoo', name: 'vgg16', options: { inputSize: 32, widthMultiplier: 1 / 16, classes: 10 } };
const profile = (id: string): DeviceProfile => ({ id, aMsPerFlop: 1e-4, bMs: 0.5, bandwidthBytesPerMs: 100_000, wakeMs: 1, memoryBytes: 1e9 });

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('long tasks give the event loop turns between layers', () => {
  it('building a zoo model pauses after every layer; a worker builds only its convolutions, the same values as the whole build', async () => {
    let pauses = 0;
    const worker = await resolveZooModel(spec, { workerOnly: true, pause: () => (pauses++, yieldToEventLoop()) });
    const whole = await resolveZooModel(spec);
    expect(pauses).toBe(worker.graph.nodes.filter((n) => n.weights.length > 0 && n.attrs.op !== 'dense').length);
    expect(worker.weights.sparse.size).toBe(0);
    expect([...worker.weights.dense.keys()].some((name) => name.startsWith('fc'))).toBe(false);
    expect(worker.weights.dense.size).toBeGreaterThan(0);
    for (const [name, weight] of worker.weights.dense) expect(weight.values).toEqual(whole.weights.dense.get(name)?.values);
  });


  let stopEvents = () => {};
  afterAll(() => stopEvents());

  it('a worker on a fused block, and the owner on its own layers, let other events in mid-task; the answer is unchanged', async () => {
    const model = await resolveZooModel(spec);
    const plan = planInference(model.graph, [profile('owner'), profile('w1')], { spatialSchemes: ['fused'], fcSchemes: [], allowOwnerOnly: false, excludeDevices: false });
    const spatialSlices = plan.steps.flatMap((s) => (s.step.kind === 'spatial' ? s.step.slices.filter((slice) => slice.device === 1) : []));
    const longest = Math.max(...spatialSlices.map((slice) => slice.nodes.length));
    expect(longest).toBeGreaterThanOrEqual(3);

    let workerMidTask = false;
    let ownerMidTask = false;
    const events = eventStandIn(() => workerMidTask || ownerMidTask);
    stopEvents = events.stop;
    const workerPauses: number[] = [];
    // (The worker also pauses while it builds the model: only the pauses inside tasks count here.)
    const executor = new WorkerExecutor({ tf, pause: () => (workerMidTask && workerPauses.push(events.counts.turns), yieldToEventLoop()) });
    const [ownerSide, workerSide] = memoryTransportPair();
    const ownerLink = new MessageLink(ownerSide);
    new MessageLink(workerSide).setRequestHandler(async (request) => {
      const slice = (request.meta as { method: string; slice?: TileSlice }).slice;
      workerMidTask = (request.meta as { method: string }).method === RuntimeMethod.Spatial && (slice?.nodes.length ?? 0) > 1;
      try {
        return await executor.handle(request);
      } finally {
        workerMidTask = false;
      }
    });
    let ownerPauses = 0;
    const runtime = new OwnerRuntime({ tf, spec, model, pause: () => (ownerPauses++, yieldToEventLoop()) });
    const ports = new Map([['w1', { id: 'w1', request: ownerLink.request.bind(ownerLink) }]]);
    expect(await runtime.prepare(plan, ports)).toEqual([]);

    const image = tf.randomUniform<tf.Rank.R3>([32, 32, 3], 0, 1, 'float32', 3);
    const before = events.counts.midTask;
    const result = await runtime.infer(plan, ports, image);
    const workerInterleaved = events.counts.midTask - before;

    // One pause between each pair of layers of every worker task, and events handled during them.
    const workerLayers = spatialSlices.reduce((sum, slice) => sum + slice.nodes.length - 1, 0);
    expect(workerPauses).toHaveLength(workerLayers);
    expect(workerInterleaved).toBeGreaterThan(0);
    expect(ownerPauses).toBeGreaterThan(0);
    expect(result.failed).toEqual([]);

    // The owner's own layers (an owner-only plan: the whole network on the owner) also yield.
    const alonePlan = planInference(model.graph, [profile('owner')], {});
    ownerPauses = 0;
    ownerMidTask = true;
    const beforeAlone = events.counts.midTask;
    const alone = await runtime.infer(alonePlan, new Map(), image);
    ownerMidTask = false;
    expect(ownerPauses).toBe(alonePlan.steps.reduce((sum, s) => sum + (s.step.kind === 'owner' ? s.step.nodeIds.length : 0), 0));
    expect(events.counts.midTask - beforeAlone).toBeGreaterThanOrEqual(ownerPauses - 1);

    const expected = tf.tidy(() => executeWhole(tf, model.graph, model.weights, image).dataSync() as Float32Array);
    for (const output of [result.output, alone.output]) {
      expect(Math.max(...expected.map((v, i) => Math.abs(v - (output[i] as number))))).toBeLessThan(1e-4);
    }
    image.dispose();
  });
});
