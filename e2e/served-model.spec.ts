/**
 * A model the server serves (as the built-in models are): every worker loads it from the server
 * itself, checks it is the owner's (by hash), and nothing crosses the data channel.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, openRoom, test } from './fixtures.ts';
import { maxAbsDiff } from './images.ts';

const servedDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'models', 'e2e-served');

// Written before the test's server starts (it indexes dist/ when it starts), removed after.
test.beforeAll(async () => {
  const tf = await import('@tensorflow/tfjs');
  const { buildMobileNetV2, toLayersModel } = await import('../src/model/index.ts');
  await tf.setBackend('cpu');
  const zoo = buildMobileNetV2({ inputSize: 33, seed: 31 });
  const model = await toLayersModel(tf, zoo, zoo.weights());
  await mkdir(servedDir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      await writeFile(path.join(servedDir, 'weights.bin'), Buffer.from(artifacts.weightData as ArrayBuffer));
      await writeFile(path.join(servedDir, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: artifacts.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }] }));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
});
test.afterAll(async () => {
  await rm(servedDir, { recursive: true, force: true });
});

interface Summary {
  logits: number[];
  devices: string[];
  failed: unknown[];
  modelBytesSent: Record<string, number>;
  trace: { device: number; outcome: string }[];
}

test('a served model is loaded by every worker from the server, with the owner-alone answer', async ({ newDevice, baseUrl }) => {
  const { owner } = await openRoom(newDevice, baseUrl, 2);

  type Api = { useServedModel(url: string): Promise<string>; classify(r: unknown): Promise<Summary> };
  const model = await owner.evaluate(() => (window as unknown as { modnn: Api }).modnn.useServedModel('/models/e2e-served/model.json'));
  expect(model).toMatch(/^served:[0-9a-f]{12}$/);
  const run = (scheme: string) => owner.evaluate((r) => (window as unknown as { modnn: Api }).modnn.classify(r), { model, scheme });
  const alone = await run('owner');
  const mesh = await run('fused');
  expect(mesh.failed).toEqual([]);
  expect(mesh.devices).toHaveLength(3);
  expect(mesh.trace.some((t) => t.device > 0 && t.outcome === 'ok')).toBe(true);
  expect(maxAbsDiff(mesh.logits, alone.logits)).toBeLessThan(1e-4);
  expect(mesh.modelBytesSent).toEqual({});
});
