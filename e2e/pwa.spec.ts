/**
 * The installable, offline app (vite-plugin-pwa's service worker, registered by src/ui/pwa.ts):
 * a valid manifest with fetchable icons; once installed the owner page starts and classifies with
 * the network off; a new version waits until the user reloads into it.
 */
import { cp, mkdtemp, readFile, rm, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import { createSignalingServer, type SignalingServer } from '../signaling/server.ts';
import { expect, test } from './fixtures.ts';

const distDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist');

interface Manifest {
  name: string;
  short_name: string;
  display: string;
  start_url: string;
  theme_color: string;
  background_color: string;
  icons: { src: string; sizes: string; type: string; purpose?: string }[];
}
interface Api {
  backend: Promise<{ name: string }>;
  classify(request: { model: string; scheme: string }): Promise<{ top: { index: number; probability: number }[]; devices: string[]; failed: unknown[] }>;
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(bytes: Buffer): { width: number; height: number } {
  expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/** The URLs the build's service worker precaches (from dist/sw.js). */
async function precachedUrls(): Promise<string[]> {
  const sw = await readFile(path.join(distDir, 'sw.js'), 'utf8');
  return [...sw.matchAll(/\{url:"([^"]+)",revision:/g)].map((m) => m[1] as string);
}

/** Loads the page, waits for the service worker to be installed and to control it (reloading once). */
async function installed(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  if (!(await page.evaluate(() => navigator.serviceWorker.controller !== null))) await page.reload();
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller?.state ?? null)).toBe('activated');
}

test('the web app manifest is linked, valid, and its icons are served', async ({ newDevice, baseUrl }) => {
  const page = await newDevice('owner');
  await page.goto(baseUrl);
  const href = await page.locator('link[rel="manifest"]').getAttribute('href');
  expect(href).toBeTruthy();
  const manifestUrl = new URL(href as string, baseUrl).href;
  const res = await page.request.get(manifestUrl);
  expect(res.status()).toBe(200);
  expect(res.headers()['content-type']).toBe('application/manifest+json');
  expect(res.headers()['cache-control']).toBe('no-cache');
  const manifest = (await res.json()) as Manifest;

  expect(manifest.name).toBe('modnn-web — pool your phones for faster AI');
  expect(manifest.short_name).toBe('modnn');
  expect(manifest.display).toBe('standalone');
  expect(new URL(manifest.start_url, manifestUrl).href).toBe(baseUrl);
  expect(manifest.theme_color).toBe(await page.locator('meta[name="theme-color"]').getAttribute('content'));
  expect(manifest.background_color).toMatch(/^#[0-9a-f]{6}$/i);

  for (const size of [192, 512]) expect(manifest.icons.some((i) => i.sizes === `${size}x${size}` && (i.purpose ?? 'any').includes('any'))).toBe(true);
  expect(manifest.icons.some((i) => i.purpose?.includes('maskable'))).toBe(true);
  for (const icon of manifest.icons) {
    const png = await page.request.get(new URL(icon.src, manifestUrl).href);
    expect(png.status(), icon.src).toBe(200);
    expect(png.headers()['content-type'], icon.src).toBe(icon.type);
    const [w, h] = icon.sizes.split('x').map(Number);
    expect(pngSize(await png.body()), icon.src).toEqual({ width: w, height: h });
  }
});

test('once installed, the owner page starts and classifies with the network off, on WASM', async ({ newDevice, baseUrl }) => {
  const page = await newDevice('owner', { serviceWorkers: 'allow' });
  // The WASM backend by name: its .wasm files must come from the precache.
  const url = `${baseUrl}?backend=wasm`;
  await page.goto(url);
  // The first install says so, in a live region, and the page keeps working online meanwhile.
  const note = page.getByRole('status').filter({ hasText: 'works offline now' });
  await expect(note).toBeVisible();
  await installed(page, url);

  await page.context().setOffline(true);
  const fromNetwork: string[] = [];
  const failed: string[] = [];
  page.on('response', (r) => {
    if (!r.fromServiceWorker()) fromNetwork.push(r.url());
  });
  page.on('requestfailed', (r) => failed.push(r.url()));
  await page.reload();

  // The shell, the scripts and the WASM binary all came from the service worker.
  await page.waitForFunction(() => 'modnn' in window, null, { timeout: 30_000 });
  expect(await page.evaluate(async () => (await (window as unknown as { modnn: Api }).modnn.backend).name)).toBe('wasm');
  const result = await page.evaluate(() => (window as unknown as { modnn: Api }).modnn.classify({ model: 'vgg16-small', scheme: 'owner' }));
  expect(result.failed).toEqual([]);
  expect(result.top.length).toBeGreaterThan(0);
  expect(result.top[0]?.probability).toBeGreaterThan(0);
  // The built-in clothing classifier (real weights, served under models/) works offline too.
  const clothing = await page.evaluate(() => (window as unknown as { modnn: Api }).modnn.classify({ model: 'clothing', scheme: 'owner' }));
  expect(clothing.failed).toEqual([]);
  expect(clothing.top[0]?.probability).toBeGreaterThan(0);
  expect(fromNetwork.filter((u) => !u.startsWith('data:'))).toEqual([]);
  // Nothing of ours failed to load: only the signaling WebSocket, which cannot work offline.
  expect(failed.filter((u) => !new URL(u).pathname.startsWith('/signal'))).toEqual([]);
  // The owner page says it is not connected rather than breaking.
  await expect(page.locator('h1')).toBeVisible();
  await expect(page.locator('[data-signaling="open"]')).toHaveCount(0);

  // The network really is off for anything not precached...
  expect(await page.evaluate(() => fetch('/not-precached.json').then(() => 'fetched', () => 'failed'))).toBe('failed');
  // ...and every precached model file (the built-in models under models/) is there offline.
  const models = (await precachedUrls()).filter((u) => u.startsWith('models/'));
  for (const file of models) {
    expect(await page.evaluate((u) => fetch(u).then((r) => r.status), `/${file}`), file).toBe(200);
  }
  test.info().annotations.push({ type: 'precached models', description: models.length ? models.join(', ') : 'none in this build' });
});

test('a new version waits for the user: the prompt reloads the page into it', async ({ newDevice }) => {
  // Two builds of one origin: the current dist/, and the same with a changed sw.js (a new version).
  const dirs: string[] = [];
  const copyOfDist = async (): Promise<string> => {
    const dir = await mkdtemp(path.join(tmpdir(), 'modnn-pwa-'));
    dirs.push(dir);
    await cp(distDir, dir, { recursive: true, filter: (src) => !src.endsWith('.map') });
    return dir;
  };
  let server: SignalingServer | null = null;
  try {
    const current = await copyOfDist();
    const next = await copyOfDist();
    await appendFile(path.join(next, 'sw.js'), '\n// the next version\n');
    server = await createSignalingServer({ port: 0, host: '127.0.0.1', staticDir: current });
    const port = server.port;
    const url = `http://127.0.0.1:${port}/`;

    const page = await newDevice('owner', { serviceWorkers: 'allow' });
    await installed(page, url);
    await expect(page.locator('[data-pwa="update"]')).toHaveCount(0);

    // The server is updated (same origin), and the page checks for a new version.
    await server.close();
    server = await createSignalingServer({ port, host: '127.0.0.1', staticDir: next });
    await page.evaluate(() => {
      (window as unknown as { beforeUpdate: boolean }).beforeUpdate = true;
    });
    await page.evaluate(async () => {
      await (await navigator.serviceWorker.getRegistration())?.update();
    });

    const prompt = page.getByRole('status').filter({ hasText: 'A new version of modnn-web is ready.' });
    await expect(prompt).toBeVisible();
    // It waits: nothing is reloaded or replaced until the user says so.
    expect(await page.evaluate(() => navigator.serviceWorker.getRegistration().then((r) => r?.waiting?.state ?? null))).toBe('installed');
    expect(await page.evaluate(() => 'beforeUpdate' in window)).toBe(true);

    await prompt.getByRole('button', { name: 'Reload' }).click();
    await expect.poll(() => page.evaluate(() => 'beforeUpdate' in window).catch(() => true), { timeout: 30_000 }).toBe(false);
    await page.waitForLoadState('load');
    await expect.poll(() => page.evaluate(() => navigator.serviceWorker.getRegistration().then((r) => ({ waiting: r?.waiting ?? null, active: r?.active?.state ?? null })))).toEqual({ waiting: null, active: 'activated' });
    expect(await page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
    await expect(page.locator('[data-pwa="update"]')).toHaveCount(0);
  } finally {
    await server?.close();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  }
});
