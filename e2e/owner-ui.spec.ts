/**
 * The product as a person uses it: images in through the real drop zone and file input, the
 * answer with its top-5 and timeline, at phone and desktop size; bad input; approving joiners;
 * accessibility and the keyboard.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import AxeBuilder from '@axe-core/playwright';
import { devices, type Page } from '@playwright/test';
import { expect, openRoom, test } from './fixtures.ts';
import { fashionSamples, photoOf, type FashionSample } from './images.ts';

const screenshotDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'screenshots');

/** An image made by the page's own canvas: a dark shoe-like shape on a light background. */
async function makeImage(page: Page, { width, height, type = 'image/png' }: { width: number; height: number; type?: string }): Promise<Buffer> {
  const base64 = await page.evaluate(
    async ({ width, height, type }) => {
      const canvas = new OffscreenCanvas(width, height);
      const g = canvas.getContext('2d') as OffscreenCanvasRenderingContext2D;
      g.fillStyle = '#e8e4dc';
      g.fillRect(0, 0, width, height);
      g.fillStyle = '#2b2b33';
      g.beginPath();
      g.ellipse(width * 0.5, height * 0.62, width * 0.36, height * 0.14, 0, 0, Math.PI * 2);
      g.fill();
      g.fillRect(width * 0.2, height * 0.4, width * 0.25, height * 0.25);
      const blob = await canvas.convertToBlob({ type });
      const bytes = new Uint8Array(await blob.arrayBuffer());
      let text = '';
      for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(text);
    },
    { width, height, type },
  );
  return Buffer.from(base64, 'base64');
}

/** Drops a file on the page's drop zone the way a browser does (a real DataTransfer, dragover then drop). */
async function dropFile(page: Page, file: { name: string; mimeType: string; buffer: Buffer }): Promise<void> {
  await page.evaluate(
    ({ name, mimeType, base64 }) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], name, { type: mimeType }));
      const zone = document.querySelector('[data-field="drop-zone"]') as HTMLElement;
      for (const type of ['dragover', 'drop']) zone.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
    },
    { name: file.name, mimeType: file.mimeType, base64: file.buffer.toString('base64') },
  );
}

const sizes = [
  { name: 'phone', emulate: devices['Pixel 7'] },
  { name: 'desktop', emulate: { viewport: { width: 1280, height: 900 } } },
];

for (const size of sizes) {
  test(`${size.name}: an image dropped or picked is classified across owner + 2 workers, with top-5 and a timeline lane per device`, async ({ newDevice, baseUrl }, testInfo) => {
    const { owner, workers: workerPages } = await openRoom(newDevice, baseUrl, 2, size.emulate);
    await owner.locator('[data-field="model"]').selectOption('vgg16-small');
    await owner.locator('[data-field="scheme"]').selectOption('fused');

    // Through the real file input.
    await owner.locator('[data-field="image-file"]').setInputFiles({ name: 'shoe.png', mimeType: 'image/png', buffer: await makeImage(owner, { width: 640, height: 480 }) });
    await expect(owner.locator('[data-field="top5"] li')).toHaveCount(5, { timeout: 60_000 });
    await expect(owner.locator('[data-field="latency"]')).toContainText('on 3 devices');
    await expect(owner.locator('[data-field="model-input"]')).toBeVisible();
    await expect(owner.locator('.tl-lane')).toHaveCount(3);
    await expect(owner.locator('[data-field="plan"]')).toContainText('2 workers, fused blocks');
    // The speed-up is measured against this device alone, on the same image.
    await expect(owner.locator('[data-field="alone"]')).toContainText('ms (measured');
    await expect(owner.locator('[data-field="bytes"]')).toContainText(/MB in \d+ messages/);
    const first = await owner.locator('[data-field="answer"]').textContent();

    // Through the drop zone, a JPEG this time; the same picture gives the same answer.
    await dropFile(owner, { name: 'shoe.jpg', mimeType: 'image/jpeg', buffer: await makeImage(owner, { width: 640, height: 480, type: 'image/jpeg' }) });
    await expect(owner.locator('[data-field="preview"] figcaption').first()).toContainText('shoe.jpg');
    await expect(owner.locator('[data-field="top5"] li')).toHaveCount(5);
    await expect(owner.locator('[data-field="answer"]')).toHaveText(first ?? '');
    // The workers table shows each worker's share of the last image and its tasks.
    await expect(owner.locator('tr.peer[data-state="ready"] td[data-field="share"]').first()).toHaveText(/\d+%/);
    await expect(owner.locator('tr.peer[data-state="ready"] td[data-field="tasks"]').first()).not.toHaveText('0');
    await expect(workerPages[0]!.locator('[data-field="tasks"]')).not.toHaveText('0 (0 rows)');

    // The built-in clothing model on a photo-like ankle boot: the README's screenshots.
    const boot = (await fashionSamples()).find((x) => x.name === 'Ankle boot') as FashionSample;
    await owner.locator('[data-field="model"]').selectOption('clothing');
    await owner.locator('[data-field="image-file"]').setInputFiles({ name: 'ankle-boot.png', mimeType: 'image/png', buffer: await photoOf(owner, boot) });
    await expect(owner.locator('[data-field="answer"]')).toContainText('Ankle boot', { timeout: 60_000 });
    await testInfo.attach(`owner-${size.name}`, { body: await owner.screenshot({ fullPage: true }), contentType: 'image/png' });
    if (process.env['UPDATE_SCREENSHOTS']) {
      await mkdir(screenshotDir, { recursive: true });
      await owner.screenshot({ fullPage: true, path: path.join(screenshotDir, `owner-${size.name}.png`) });
      await workerPages[0]!.screenshot({ path: path.join(screenshotDir, `worker-${size.name}.png`) });
    }
  });
}

test('bad input gets a clear message and the page keeps working', async ({ newDevice, baseUrl }) => {
  const owner = await newDevice('owner');
  await owner.goto(baseUrl);
  await owner.locator('[data-field="model"]').selectOption('vgg16-small');
  const error = owner.locator('[data-field="image-error"]');
  const picker = owner.locator('[data-field="image-file"]');

  await picker.setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('this is not an image') });
  await expect(error).toContainText('“notes.txt” (text/plain) is not an image');

  const png = await makeImage(owner, { width: 64, height: 64 });
  const corrupt = Buffer.concat([png.subarray(0, 40), Buffer.alloc(200, 7)]);
  await picker.setInputFiles({ name: 'broken.png', mimeType: 'image/png', buffer: corrupt });
  await expect(error).toContainText('“broken.png” looks like a PNG file but could not be decoded');

  // 8000×8000: decoded straight to 1024×1024, classified, the page responsive throughout.
  await picker.setInputFiles({ name: 'huge.png', mimeType: 'image/png', buffer: await makeImage(owner, { width: 8000, height: 8000 }) });
  await expect(owner.locator('[data-field="preview"] figcaption').first()).toContainText('8000×8000, read at 1024×1024', { timeout: 60_000 });
  await expect(owner.locator('[data-field="top5"] li')).toHaveCount(5);
  await expect(error).toBeHidden();
  // Not frozen: the page still answers and its controls still work (timings belong in benchmarks).
  await owner.locator('[data-field="scheme"]').selectOption('owner');
  await expect(owner.locator('[data-field="scheme"]')).toHaveValue('owner');

  // A model drop that is not a model, and one with its weights missing: the previous model stays.
  const modelFiles = owner.locator('[data-field="model-files"]');
  const message = owner.locator('[data-field="model-message"]');
  await modelFiles.setInputFiles({ name: 'model.json', mimeType: 'application/json', buffer: Buffer.from('{"format": "layers-model", "modelTopology": 42') });
  await expect(message).toContainText('not a TF.js LayersModel');
  await expect(message).toContainText('The previous model stays selected.');
  const topology = { class_name: 'Sequential', config: { name: 's', layers: [{ class_name: 'Dense', config: { units: 2, batch_input_shape: [null, 3], name: 'd' } }] } };
  const manifest = [{ paths: ['weights.bin'], weights: [{ name: 'd/kernel', shape: [3, 2], dtype: 'float32' }, { name: 'd/bias', shape: [2], dtype: 'float32' }] }];
  await modelFiles.setInputFiles({ name: 'model.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify({ format: 'layers-model', modelTopology: topology, weightsManifest: manifest })) });
  await expect(message).toContainText(/weights\.bin/);
  await expect(owner.locator('[data-field="model"]')).toHaveValue('vgg16-small');

  // Pasted (Ctrl/⌘+V) anywhere on the page.
  await owner.evaluate((base64) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], 'pasted.png', { type: 'image/png' }));
    document.body.dispatchEvent(new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }));
  }, png.toString('base64'));
  await expect(owner.locator('[data-field="preview"] figcaption').first()).toContainText('pasted.png');
  await expect(error).toBeHidden();
  await expect(owner.locator('[data-field="top5"] li')).toHaveCount(5);
});

test('with automatic approval off, a joiner waits until the owner approves it; a refused one is turned away', async ({ newDevice, baseUrl }) => {
  const owner = await newDevice('owner');
  await owner.goto(baseUrl);
  await expect(owner.locator('[data-signaling="open"]')).toBeVisible();
  await owner.locator('[data-field="auto-approve"]').uncheck();
  const joinUrl = await owner.locator('input.join-link').inputValue();

  const welcome = await newDevice('welcome worker');
  await welcome.goto(joinUrl);
  await expect(owner.locator('tr.peer[data-state="pending"]')).toHaveCount(1, { timeout: 30_000 });
  await expect(welcome.locator('.status-title')).toHaveText('Waiting for approval');
  await owner.getByRole('button', { name: /^Approve / }).click();
  await expect(owner.locator('tr.peer[data-state="ready"]')).toHaveCount(1, { timeout: 30_000 });
  await expect(welcome.locator('.status-title')).toHaveText(/Ready|Computing/);

  const stranger = await newDevice('stranger');
  await stranger.goto(joinUrl);
  await expect(owner.locator('tr.peer[data-state="pending"]')).toHaveCount(1, { timeout: 30_000 });
  await owner.getByRole('button', { name: /^Refuse / }).click();
  await expect(owner.locator('tr.peer[data-state="gone"]')).toContainText('refused by the owner');
  await expect(stranger.locator('.status-detail')).toContainText('refused by the owner');
  // The refused device is not given work: only the approved one is ready.
  await expect(owner.locator('tr.peer[data-state="ready"]')).toHaveCount(1);
});

test('owner and worker pages have no serious accessibility violations, and the main flow works from the keyboard', async ({ newDevice, baseUrl }) => {
  const { owner, workers: workerPages } = await openRoom(newDevice, baseUrl, 1);
  await owner.locator('[data-field="model"]').selectOption('vgg16-small');
  const image = await makeImage(owner, { width: 300, height: 300 });

  // Keyboard only: Tab to "Choose an image", Enter opens the file chooser.
  await owner.locator('body').click({ position: { x: 1, y: 1 } });
  let focused = '';
  for (let i = 0; i < 30 && focused !== 'Choose an image'; i++) {
    await owner.keyboard.press('Tab');
    focused = await owner.evaluate(() => document.activeElement?.textContent ?? '');
  }
  expect(focused).toBe('Choose an image');
  const chooser = owner.waitForEvent('filechooser');
  await owner.keyboard.press('Enter');
  await (await chooser).setFiles({ name: 'kb.png', mimeType: 'image/png', buffer: image });
  await expect(owner.locator('[data-field="top5"] li')).toHaveCount(5, { timeout: 60_000 });

  for (const [name, page] of [['owner', owner], ['worker', workerPages[0] as Page]] as const) {
    const results = await new AxeBuilder({ page }).analyze();
    const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(serious.map((v) => `${name}: ${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
  }
});

test('a worker whose memory cannot hold the model is left out, with the reason shown', async ({ newDevice, baseUrl }) => {
  const owner = await newDevice('owner');
  await owner.goto(baseUrl);
  await expect(owner.locator('[data-signaling="open"]')).toBeVisible();
  const joinUrl = await owner.locator('input.join-link').inputValue();
  // A phone that reports 10 MB of memory: the planner may use a quarter of it, less than this model's 3.7 MB of conv weights.
  const small = await newDevice('small phone');
  await small.addInitScript(() => Object.defineProperty(Navigator.prototype, 'deviceMemory', { get: () => 0.01 }));
  await small.goto(joinUrl);
  await expect(owner.locator('tr.peer[data-state="ready"]')).toHaveCount(1, { timeout: 60_000 });
  await owner.locator('[data-field="model"]').selectOption('vgg16-medium');
  await owner.locator('[data-field="scheme"]').selectOption('fused');
  await owner.locator('[data-field="image-file"]').setInputFiles({ name: 'shoe.png', mimeType: 'image/png', buffer: await makeImage(owner, { width: 200, height: 200 }) });
  await expect(owner.locator('[data-field="top5"] li')).toHaveCount(5, { timeout: 60_000 });
  await expect(owner.locator('[data-field="excluded"]')).toContainText(/weights need 3\.\d MB; the device offers about 2\.\d MB/);
  await expect(owner.locator('[data-field="latency"]')).toContainText('on 1 device');
  await expect(owner.locator('[data-field="plan"]')).toHaveText('Running alone: the model does not fit in the workers’ memory');
});
