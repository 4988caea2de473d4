/**
 * Many images in flight (issue 9): a batch of held-out Fashion-MNIST images across owner + 3
 * workers, through the page API and through the file input with several files (one of them not an
 * image). Every image gets the answer the owner alone gives it; the batch shows its progress, each
 * image's top-1 and its throughput; the file that is not an image is named and skipped.
 */
import type { Page } from '@playwright/test';
import { classifyOn, expect, openRoom, test } from './fixtures.ts';
import { fashionSamples, photoOf, sampleValues } from './images.ts';

interface Top {
  index: number;
  label: string;
  probability: number;
}
interface BatchSummary {
  images: number;
  done: number;
  failed: number;
  imagesPerSecond: number;
  medianLatencyMs: number;
  inFlight: number;
}
type Outcome = { ok: true; top: Top[]; logits: number[]; devices: string[] } | { ok: false; error: string } | null;
interface Api {
  classifyMany(request: unknown): Promise<{ summary: BatchSummary; results: Outcome[] }>;
}

const classify = (owner: Page, request: Record<string, unknown>) => classifyOn<{ top: Top[] }>(owner, request);
const classifyMany = (owner: Page, request: unknown) => owner.evaluate((r) => (window as unknown as { modnn: Api }).modnn.classifyMany(r), request);

test('a batch with images in flight: every image gets its owner-alone answer, through the page API and the multi-file input', async ({ newDevice, baseUrl }) => {
  test.setTimeout(240_000);
  const samples = await fashionSamples();
  expect(samples.length).toBeGreaterThanOrEqual(8);
  const { owner } = await openRoom(newDevice, baseUrl, 3);
  await expect(owner.locator('[data-field="model"]')).toHaveValue('clothing');

  // Through the page API: 8 images, 3 in flight, split over the workers.
  const images = samples.slice(0, 8).map(sampleValues);
  const alone: number[] = [];
  for (const values of images) alone.push((await classify(owner, { model: 'clothing', scheme: 'owner', values })).top[0]?.index ?? -1);
  const { summary, results } = await classifyMany(owner, { model: 'clothing', scheme: 'fused', inFlight: 3, images });
  expect(summary).toMatchObject({ images: 8, done: 8, failed: 0, inFlight: 3 });
  expect(summary.imagesPerSecond).toBeGreaterThan(0);
  expect(summary.medianLatencyMs).toBeGreaterThan(0);
  results.forEach((r, i) => {
    expect(r?.ok, `image ${i}: ${r && !r.ok ? r.error : 'answered'}`).toBe(true);
    if (!r?.ok) return;
    expect.soft(r.top[0]?.index, `image ${i}: top-1 against the owner alone`).toBe(alone[i]);
    expect(r.devices.length, `image ${i}: devices`).toBeGreaterThan(1);
  });

  // Through the file input: 6 photo-like PNGs and one text file, first on the owner alone, then
  // across the mesh; the text file is named and skipped both times.
  const photos = await Promise.all(samples.slice(0, 6).map(async (s, i) => ({ name: `${i + 1}-${s.name.replace(/\W+/g, '-')}.png`, mimeType: 'image/png', buffer: await photoOf(owner, s) })));
  const files = [...photos.slice(0, 3), { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image') }, ...photos.slice(3)];
  const picker = owner.locator('[data-field="image-file"]');
  const progress = owner.locator('[data-field="batch-progress"]');
  const rows = owner.locator('[data-field="batch-list"] li');
  const status = owner.locator('[data-field="classify-status"]');

  const runThroughUi = async (scheme: string): Promise<string[]> => {
    await owner.locator('[data-field="scheme"]').selectOption(scheme);
    await picker.setInputFiles(files);
    await expect(owner.locator('[data-field="skipped"] li')).toHaveText(['“notes.txt” (text/plain) is not an image this page can read: skipped.']);
    await expect(rows).toHaveCount(6);
    await expect(status).toHaveText(/^Done: 6 of 6 classified/, { timeout: 120_000 });
    await expect(progress).toHaveAttribute('value', '6');
    await expect(progress).toHaveAttribute('max', '6');
    await expect(owner.locator('[data-field="batch-count"]')).toHaveText('6 of 6');
    await expect(owner.locator('[data-field="batch-throughput"]')).toHaveText(/^\d+(\.\d+)? images\/s$/);
    await expect(owner.locator('[data-field="batch-latency"]')).toHaveText(/\d.* (ms|s)$/);
    await expect(owner.locator('[data-field="batch-in-flight"]')).toHaveText(/^\d+ at once$/);
    await expect(rows.and(owner.locator('[data-state="ok"]'))).toHaveCount(6);
    // The answer text is "label 97.3%": the label is the part before the percentage.
    return (await rows.locator('.batch-answer').allTextContents()).map((t) => t.replace(/\s+[\d.]+%$/, ''));
  };
  const aloneLabels = await runThroughUi('owner');
  expect(await rows.locator('.batch-name').allTextContents()).toEqual(photos.map((p) => p.name));
  const meshLabels = await runThroughUi('fused');
  expect(meshLabels).toEqual(aloneLabels);
  // The last image's timeline is drawn, with its transfer/compute overlap.
  await expect(owner.locator('[data-field="timeline"] .tl-summary')).toContainText('transfer/compute overlap');
  await expect(owner.locator('[data-field="image-error"]')).toBeHidden();
});

test('a batch of resident runs gives the owner-alone answers (e2e/resident.spec.ts checks the direct links they use)', async ({ newDevice, baseUrl }) => {
  const { owner } = await openRoom(newDevice, baseUrl, 3);
  const images = [3, 5, 7, 11].map((m) => Array.from({ length: 32 * 32 * 3 }, (_, i) => (i % m) / m));
  const request = { model: 'vgg16-small', scheme: 'resident', split: 'equal' };
  const { summary, results } = await classifyMany(owner, { ...request, inFlight: 2, images });
  expect(summary).toMatchObject({ images: 4, done: 4, failed: 0 });
  for (const [i, values] of images.entries()) {
    const r = results[i];
    expect(r?.ok, `image ${i}: ${r && !r.ok ? r.error : 'answered'}`).toBe(true);
    const alone = await classify(owner, { model: 'vgg16-small', scheme: 'owner', values });
    if (r?.ok) expect.soft(r.top[0]?.index, `image ${i}: top-1 against the owner alone`).toBe(alone.top[0]?.index);
  }
});
