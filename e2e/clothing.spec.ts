/**
 * The built-in clothing classifier in the browser: held-out Fashion-MNIST test images get their
 * true labels on the owner alone and across the mesh, and a photo-like version of one (ten times
 * larger, dark on a light background) goes through the real file input and preprocessing.
 */
import { expect, openRoom, test } from './fixtures.ts';
import { fashionSamples, maxAbsDiff, photoOf, sampleValues, type FashionSample } from './images.ts';

interface Summary {
  top: { index: number; label: string; probability: number }[];
  logits: number[];
  devices: string[];
  failed: unknown[];
}
type Api = { classify(r: unknown): Promise<Summary> };

test('held-out test images get their true labels in the browser, alone and across owner + 2 workers; a photo of one through the file input too', async ({ newDevice, baseUrl }) => {
  const samples = await fashionSamples();
  expect(samples.length).toBeGreaterThanOrEqual(5);
  const { owner } = await openRoom(newDevice, baseUrl, 2);
  await expect(owner.locator('[data-field="model"]')).toHaveValue('clothing');

  const run = (values: number[], scheme: string) => owner.evaluate(([v, s]) => (window as unknown as { modnn: Api }).modnn.classify({ model: 'clothing', values: v, scheme: s }), [values, scheme] as const);
  for (const sample of samples) {
    const values = sampleValues(sample);
    const alone = await run(values, 'owner');
    expect.soft(alone.top[0]?.label, `t10k #${sample.index}`).toBe(sample.name);
    const mesh = await run(values, 'fused');
    expect(mesh.failed).toEqual([]);
    expect(mesh.devices.length).toBeGreaterThan(1);
    expect.soft(mesh.top[0]?.label, `t10k #${sample.index} across the mesh`).toBe(sample.name);
    expect.soft(maxAbsDiff(mesh.logits, alone.logits)).toBeLessThan(1e-4);
  }

  // A "photo" of the first sample through the file input and the preprocessing.
  const sample = samples[0] as FashionSample;
  const png = await photoOf(owner, sample);
  await owner.locator('[data-field="image-file"]').setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: png });
  await expect(owner.locator('[data-field="answer"]')).toContainText(sample.name, { timeout: 60_000 });
  await expect(owner.locator('[data-field="preview"] figcaption').nth(1)).toContainText('28×28 grayscale, centre-cropped, inverted (light background)');
});
