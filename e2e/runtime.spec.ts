/**
 * The runtime end to end: owner + 3 worker pages in headless Chromium, real WebRTC, real TF.js
 * (the backend each page measures fastest: WASM here). Distributed answers equal the owner's own.
 */
import type { Page } from '@playwright/test';
import { classifyOn, expect, holdFirstTask, openRoom, test } from './fixtures.ts';
import { maxAbsDiff } from './images.ts';

interface Summary {
  top: { index: number; probability: number }[];
  logits: number[];
  devices: string[];
  failed: { deviceId: string; reason: string }[];
  steps: string;
  trace: { deviceId: string; device: number; outcome: string }[];
}

type Request = { model: string; scheme: string; seed?: number };
const classify = (owner: Page, request: Request): Promise<Summary> => classifyOn<Summary>(owner, request);


// Same backend (WASM) on every page, so only the order of float additions differs.
const TOLERANCE = 1e-4;

test('every scheme gives the owner-alone answer, on VGG-16 and on a residual MobileNetV2-style model', async ({ newDevice, baseUrl }) => {
  const { owner, workers } = await openRoom(newDevice, baseUrl, 3);
  for (const worker of workers) await expect(worker.locator('[data-field="backend"]')).not.toHaveText('measuring…');
  // The owner lists the backend each worker really runs (measured fastest: WASM on this machine).
  await expect(owner.locator('td[data-field="backend"] strong')).toHaveCount(3);
  await expect(owner.locator('td[data-field="backend"] strong').first()).toHaveText(/^(wasm|webgl|webgpu|cpu)/);
  for (const model of ['vgg16-small', 'mobilenetv2']) {
    const alone = await classify(owner, { model, scheme: 'owner' });
    expect(alone.devices).toEqual(['owner']);
    for (const scheme of ['bodp', 'fused', 'grid', 'auto']) {
      const mesh = await classify(owner, { model, scheme });
      expect.soft(maxAbsDiff(mesh.logits, alone.logits), `${model} ${scheme}: max |Δlogit|`).toBeLessThan(TOLERANCE);
      expect.soft(mesh.top[0]?.index, `${model} ${scheme}: top-1`).toBe(alone.top[0]?.index);
      expect(mesh.failed).toEqual([]);
      if (scheme !== 'auto') {
        // A forced scheme really runs on workers. Shares follow each worker's measured capability,
        // and on a loaded machine one may measure slow enough to get no rows of these small maps,
        // so only "some worker computed" is certain here (the Node tests, with equal profiles,
        // check that every worker computes).
        expect(mesh.devices).toHaveLength(4);
        const workersUsed = new Set(mesh.trace.filter((t) => t.device > 0 && t.outcome === 'ok').map((t) => t.deviceId));
        expect(workersUsed.size, `${model} ${scheme}: workers that computed (${mesh.steps})`).toBeGreaterThanOrEqual(1);
      }
    }
  }
  // The workers computed real tiles and show it.
  await expect(workers[0]!.locator('[data-field="tasks"]')).not.toHaveText('0');
});

test('a worker page closed in the middle of an inference: the answer is still right', async ({ newDevice, baseUrl }) => {
  const { owner, workers } = await openRoom(newDevice, baseUrl, 3);
  const alone = await classify(owner, { model: 'vgg16-small', scheme: 'owner', seed: 3 });
  // Whichever worker is first to get a tile keeps it unanswered; the test then closes its page.
  const { arrived } = await holdFirstTask(workers, 'runtime.spatial');
  const running = classify(owner, { model: 'vgg16-small', scheme: 'bodp', seed: 3 });
  await workers[await arrived]!.close();
  const result = await running;
  expect(maxAbsDiff(result.logits, alone.logits)).toBeLessThan(TOLERANCE);
  expect(result.failed).toHaveLength(1);
  expect(result.trace.some((t) => t.outcome === 'local-fallback')).toBe(true);
});

test('a worker that stops answering: the answer is still right and it gets no more work', async ({ newDevice, baseUrl }) => {
  const { owner, workers } = await openRoom(newDevice, baseUrl, 3);
  const alone = await classify(owner, { model: 'vgg16-small', scheme: 'owner', seed: 5 });
  await workers[0]!.evaluate(() => {
    // Test hook: this worker hangs on every compute task (a stuck phone that still answers heartbeats).
    const { mesh } = (window as unknown as { modnn: { mesh: { handle(m: string, h: () => Promise<never>): void } } }).modnn;
    for (const method of ['runtime.spatial', 'runtime.fc']) mesh.handle(method, () => new Promise<never>(() => {}));
  });
  const first = await classify(owner, { model: 'vgg16-small', scheme: 'bodp', seed: 5 });
  expect(maxAbsDiff(first.logits, alone.logits)).toBeLessThan(TOLERANCE);
  expect(first.failed, JSON.stringify(first.trace.filter((t) => t.device > 0))).toHaveLength(1);
  const stuckId = first.failed[0]!.deviceId;
  const second = await classify(owner, { model: 'vgg16-small', scheme: 'bodp', seed: 5 });
  expect(maxAbsDiff(second.logits, alone.logits)).toBeLessThan(TOLERANCE);
  expect(second.devices).not.toContain(stuckId);
  expect(second.devices).toHaveLength(3);
  expect(second.failed).toEqual([]);
});

test('no tensor leak on the owner or the workers over repeated inferences', async ({ newDevice, baseUrl }) => {
  const { owner, workers } = await openRoom(newDevice, baseUrl, 2);
  const tensors = (page: Page) => page.evaluate(() => (window as unknown as { modnn: { tensorCount(): number } }).modnn.tensorCount());
  // Warm-up: backend state, and the weights' tensors each device keeps for the model's life.
  const schemes = ['bodp', 'fused', 'resident', 'owner'];
  for (const scheme of schemes) await classify(owner, { model: 'vgg16-small', scheme });
  const before = await Promise.all([owner, ...workers].map(tensors));
  for (let i = 0; i < 8; i++) await classify(owner, { model: 'vgg16-small', scheme: schemes[i % schemes.length] ?? 'owner', seed: i });
  expect(await Promise.all([owner, ...workers].map(tensors))).toEqual(before);
});

test('a model dropped into the owner page reaches the workers over the data channel, once', async ({ newDevice, baseUrl }, testInfo) => {
  // A seeded MobileNetV2-style residual model saved as model.json + weights.bin, as a user has it.
  const tf = await import('@tensorflow/tfjs');
  const { buildMobileNetV2, toLayersModel } = await import('../src/model/index.ts');
  await tf.setBackend('cpu');
  const zoo = buildMobileNetV2({ inputSize: 33, seed: 21 });
  const layersModel = await toLayersModel(tf, zoo, zoo.weights());
  const modelJson = testInfo.outputPath('model.json');
  const weightsBin = testInfo.outputPath('weights.bin');
  await layersModel.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const { writeFile } = await import('node:fs/promises');
      await writeFile(weightsBin, Buffer.from(artifacts.weightData as ArrayBuffer));
      await writeFile(modelJson, JSON.stringify({ format: 'layers-model', modelTopology: artifacts.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }] }));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );

  const { owner, workers } = await openRoom(newDevice, baseUrl, 2);
  await owner.locator('[data-field="model-files"]').setInputFiles([modelJson, weightsBin]);
  await expect(owner.locator('[data-field="model-message"]')).toContainText('Loaded model.json');
  const model = await owner.locator('[data-field="model"]').inputValue();
  expect(model).toMatch(/^package:[0-9a-f]{12}$/);

  const alone = await classify(owner, { model, scheme: 'owner' });
  const first = (await classify(owner, { model, scheme: 'fused' })) as Summary & { modelBytesSent: Record<string, number> };
  expect(maxAbsDiff(first.logits, alone.logits)).toBeLessThan(TOLERANCE);
  for (const scheme of ['bodp', 'grid', 'auto']) {
    const other = await classify(owner, { model, scheme });
    expect.soft(maxAbsDiff(other.logits, alone.logits), `dropped model, ${scheme}`).toBeLessThan(TOLERANCE);
  }
  // Each worker got the whole package once: the weights plus the topology header.
  const { stat } = await import('node:fs/promises');
  const weightBytes = (await stat(weightsBin)).size;
  const sent = Object.values(first.modelBytesSent);
  expect(sent).toHaveLength(2);
  expect(sent[0]).toBeGreaterThan(weightBytes);
  expect(sent[1]).toBe(sent[0]);

  // A worker reloads its page (a new id in the room): its cache still has the package.
  await workers[0]!.reload();
  await expect(owner.locator('tr.peer[data-state="ready"]')).toHaveCount(2, { timeout: 60_000 });
  const second = (await classify(owner, { model, scheme: 'fused' })) as Summary & { modelBytesSent: Record<string, number> };
  expect(maxAbsDiff(second.logits, alone.logits)).toBeLessThan(TOLERANCE);
  const rejoined = second.devices.filter((id) => id !== 'owner' && !(id in first.modelBytesSent));
  expect(rejoined).toHaveLength(1);
  expect(second.modelBytesSent[rejoined[0]!] ?? 0).toBe(0);
});
