/**
 * Result verification in real pages over real WebRTC: owner + 2 honest workers + 1 worker whose
 * page changes numbers inside the tensors it sends back (no product backdoor: its
 * RTCDataChannel.send is wrapped before the app loads). With every result checked the liar is
 * caught, removed with the reason on its row, and the answer equals the owner alone. Then the
 * answer card, with input privacy on, says what was checked and what left the device.
 */
import { expect, joinWorker, openRoom, test } from './fixtures.ts';
import { lieInTensors, WIRE } from './hostile-page.ts';
import { fashionSamples, maxAbsDiff, photoOf, type FashionSample } from './images.ts';

interface Summary {
  top: { index: number; label: string }[];
  logits: number[];
  devices: string[];
  evicted: { deviceId: string; reason: string }[];
  verification: { checked: number; results: number };
}
type Api = { classify(r: unknown): Promise<Summary> };

test('a worker that perturbs its results is caught with every result checked, removed with the reason, and the answer equals the owner alone; the card reports checks and what left the device', async ({ newDevice, baseUrl }) => {
  const { owner } = await openRoom(newDevice, baseUrl, 2);
  await joinWorker(newDevice, owner, await owner.locator('input.join-link').inputValue(), { label: 'liar', initScript: lieInTensors, initArg: WIRE });
  await expect(owner.locator('tr.peer[data-state="ready"]')).toHaveCount(3);

  const run = (request: Record<string, unknown>) => owner.evaluate((r) => (window as unknown as { modnn: Api }).modnn.classify(r), request);
  const alone = await run({ model: 'clothing', seed: 3, scheme: 'owner' });
  const mesh = await run({ model: 'clothing', seed: 3, scheme: 'fused', verify: { fraction: 1, budget: 1 } });

  expect(mesh.evicted).toHaveLength(1);
  const [evicted] = mesh.evicted;
  expect(evicted?.reason).toMatch(/^returned wrong results for a checked (tile|FC share) \(max \|Δ\| [\d.e+]+ vs tolerance [\d.e+-]+\)$/);
  expect(mesh.verification.checked).toBe(mesh.verification.results);
  expect(mesh.top[0]?.index).toBe(alone.top[0]?.index);
  expect(maxAbsDiff(mesh.logits, alone.logits)).toBeLessThan(1e-4);
  // The liar's row says why it is gone; the honest two stay.
  await expect(owner.locator(`tr.peer[data-peer="${evicted?.deviceId}"] .reason`)).toContainText('returned wrong results for a checked');
  await expect(owner.locator('tr.peer[data-state="ready"]')).toHaveCount(2);

  // The next image: every result checked, the first layer kept here, through the page's own controls.
  await owner.locator('[data-field="privacy"]').selectOption('firstLayer');
  await expect(owner.locator('[data-field="privacy-note"]')).toContainText('never the image');
  await owner.locator('[data-field="check-setting"]').selectOption('1');
  await owner.locator('[data-field="scheme"]').selectOption('fused');
  const sample = (await fashionSamples())[0] as FashionSample;
  await owner.locator('[data-field="image-file"]').setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: await photoOf(owner, sample) });
  await expect(owner.locator('[data-field="answer"]')).toContainText(sample.name, { timeout: 60_000 });
  await expect(owner.locator('[data-field="checks"]')).toHaveText(/^Checked (\d+) of \1 results \(\d+% extra work here\), all right$/);
  await expect(owner.locator('[data-field="exposure"]')).toContainText(/Workers receive \d+-channel \d+×\d+ feature maps and compute from layer \S+ onward, never the image/);
});
