/** Test fixtures: a real server on 127.0.0.1 serving the built app, and pages as devices. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test as base, expect, type Browser, type BrowserContextOptions, type Page } from '@playwright/test';
import { createSignalingServer, type SignalingServer } from '../signaling/server.ts';
import { deviceContextOptions } from './browser.ts';

const distDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist');

export interface Fixtures {
  server: SignalingServer;
  baseUrl: string;
  /**
   * Opens a page in a fresh context: a separate device with its own storage. Service workers are
   * blocked (the app's would precache ~3 MB per device and serve its files) unless the test opts in.
   */
  newDevice: (label: string, options?: { serviceWorkers?: 'allow' | 'block'; emulate?: BrowserContextOptions }) => Promise<Page>;
}

export const test = base.extend<Fixtures>({
  // Playwright's fixture API needs a destructuring pattern even when nothing is used.
  // eslint-disable-next-line no-empty-pattern
  server: async ({}, use) => {
    const server = await createSignalingServer({ port: 0, host: '127.0.0.1', staticDir: distDir });
    await use(server);
    await server.close();
  },
  baseUrl: async ({ server }, use) => {
    await use(`http://127.0.0.1:${server.port}/`);
  },
  // Depends on the server so that pages close before the server does (no reconnect noise).
  newDevice: async ({ browser, server: _server }: { browser: Browser; server: SignalingServer }, use) => {
    const contexts: Awaited<ReturnType<Browser['newContext']>>[] = [];
    await use(async (label, options = {}) => {
      const blocked = options.serviceWorkers !== 'allow';
      const context = await browser.newContext({ ...deviceContextOptions, ...options.emulate, serviceWorkers: blocked ? 'block' : 'allow' });
      contexts.push(context);
      const page = await context.newPage();
      page.on('pageerror', (err) => console.error(`[${label}] page error: ${err.message}`));
      page.on('console', (msg) => {
        // Chromium says "No available adapters." when asked for a WebGPU adapter on a machine without a GPU;
        // a device without serviceWorkers: 'allow' is told its service worker was blocked.
        if ((msg.type() === 'error' || msg.type() === 'warning') && !/No available adapters/.test(msg.text()) && !(blocked && /Service Worker registration blocked|offline app could not be installed/.test(msg.text()))) {
          console.error(`[${label}] ${msg.type()}: ${msg.text()}`);
        }
      });
      return page;
    });
    for (const context of contexts) await context.close().catch(() => {});
  },
});

export { expect };

/**
 * A new device that opens the owner's join link (after `initScript`, when given, is installed on
 * it with `initArg`); resolves once the owner lists one more ready worker than before.
 */
export async function joinWorker(
  newDevice: Fixtures['newDevice'],
  owner: Page,
  joinUrl: string,
  { label = 'worker', initScript, initArg, emulate, timeout = 60_000 }: { label?: string; initScript?: (arg: never) => void; initArg?: unknown; emulate?: BrowserContextOptions; timeout?: number } = {},
): Promise<Page> {
  const ready = owner.locator('tr.peer[data-state="ready"]');
  const before = await ready.count();
  const page = await newDevice(label, emulate ? { emulate } : {});
  if (initScript) await page.addInitScript(initScript as (arg: unknown) => void, initArg);
  await page.goto(joinUrl);
  await expect(ready).toHaveCount(before + 1, { timeout });
  return page;
}

/**
 * An owner page and `workers` worker pages joined through its link, each a separate device;
 * resolves once the owner lists every worker as ready.
 */
export async function openRoom(newDevice: Fixtures['newDevice'], baseUrl: string, workers: number, emulate?: BrowserContextOptions): Promise<{ owner: Page; workers: Page[] }> {
  const owner = await newDevice('owner', emulate ? { emulate } : {});
  await owner.goto(baseUrl);
  await expect(owner.locator('[data-signaling="open"]')).toBeVisible();
  const joinUrl = await owner.locator('input.join-link').inputValue();
  const pages: Page[] = [];
  for (let i = 0; i < workers; i++) pages.push(await joinWorker(newDevice, owner, joinUrl, { label: `worker ${i + 1}`, ...(emulate ? { emulate } : {}) }));
  await expect(owner.locator('tr.peer[data-state="ready"]')).toHaveCount(workers);
  return { owner, workers: pages };
}

/**
 * Makes whichever of `workers` first gets a `method` request keep it unanswered for ever (the
 * others compute as usual), so a test can close that page in the middle of the task. `arrived`
 * resolves with the index of that worker once its request arrives.
 */
export async function holdFirstTask(workers: readonly Page[], method: string): Promise<{ arrived: Promise<number> }> {
  let first!: (index: number) => void;
  const arrived = new Promise<number>((resolve) => (first = resolve));
  let claimed = false;
  for (const [index, worker] of workers.entries()) {
    await worker.exposeFunction('claimTask', () => {
      if (claimed) return false;
      claimed = true;
      first(index);
      return true;
    });
    await worker.evaluate((name) => {
      type Handler = (request: unknown, from?: string) => unknown;
      const { mesh, executor } = (window as unknown as { modnn: { mesh: { handle(m: string, h: Handler): void }; executor: { methods: Record<string, Handler> } } }).modnn;
      const compute = executor.methods[name] as Handler;
      mesh.handle(name, async (request, from) => {
        const keep = await (window as unknown as { claimTask(): Promise<boolean> }).claimTask();
        return keep ? new Promise<never>(() => {}) : compute(request, from);
      });
    }, method);
  }
  return { arrived };
}

/**
 * The owner page's `window.modnn.classify(request)` (src/ui/model-runner.ts), from a test.
 * `T`: the fields of its summary the test reads.
 */
export function classifyOn<T>(owner: Page, request: Record<string, unknown>): Promise<T> {
  return owner.evaluate((r) => (window as unknown as { modnn: { classify(r: unknown): Promise<unknown> } }).modnn.classify(r), request) as Promise<T>;
}
