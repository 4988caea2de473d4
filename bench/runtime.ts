/**
 * `npm run bench:runtime`: latency of one inference with owner + 3 workers, per scheme, next to
 * the owner alone, in the same run. All pages share this machine's cores (one browser, one page
 * per device), so this measures the runtime's overheads, not the speed-up of real phones: that
 * needs one CPU quota per emulated phone (the benchmark-report issue). Writes bench/results/runtime.md.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from '@playwright/test';
import { deviceContextOptions, launchOptions } from '../e2e/browser.ts';
import { createSignalingServer } from '../signaling/server.ts';
import { machineStamp, median, stampMarkdown } from './machine.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODELS = ['vgg16-small', 'vgg16-medium', 'mobilenetv2'];
const SCHEMES = ['owner', 'bodp', 'fused', 'grid', 'auto'];
const RUNS = 5;
const WORKERS = 3;

interface Summary {
  totalMs: number;
  steps: string;
  devices: string[];
  failed: unknown[];
  top: { index: number }[];
}

async function main(): Promise<void> {
  const server = await createSignalingServer({ port: 0, host: '127.0.0.1', staticDir: path.join(root, 'dist') });
  const browser = await chromium.launch(launchOptions);
  const page = async (): Promise<Page> => (await browser.newContext(deviceContextOptions)).newPage();
  const rows: string[] = [];
  const samples: { model: string; scheme: string; ms: number[]; steps: string; devices: number }[] = [];
  try {
    const owner = await page();
    await owner.goto(`http://127.0.0.1:${server.port}/?backend=wasm`);
    await owner.waitForSelector('[data-signaling="open"]');
    const joinUrl = (await owner.locator('input.join-link').inputValue()).replace('/#', '/?backend=wasm#');
    for (let i = 0; i < WORKERS; i++) await (await page()).goto(joinUrl);
    await owner.waitForFunction((n) => document.querySelectorAll('tr.peer[data-state="ready"]').length === n, WORKERS, { timeout: 60_000 });
    const classify = (model: string, scheme: string, seed: number) =>
      owner.evaluate((r) => (window as unknown as { modnn: { classify(r: unknown): Promise<Summary> } }).modnn.classify(r), { model, scheme, seed });
    for (const model of MODELS) {
      for (const scheme of SCHEMES) await classify(model, scheme, 0); // warm-up: build, profile, plan, install
      let aloneMedian = 0;
      for (const scheme of SCHEMES) {
        const ms: number[] = [];
        let last: Summary | null = null;
        for (let run = 1; run <= RUNS; run++) {
          last = await classify(model, scheme, run);
          ms.push(last.totalMs);
        }
        const m = median(ms);
        if (scheme === 'owner') aloneMedian = m;
        samples.push({ model, scheme, ms, steps: last?.steps ?? '', devices: last?.devices.length ?? 0 });
        rows.push(`| ${model} | ${scheme} | ${last?.devices.length ?? 0} | ${m.toFixed(1)} | ${Math.min(...ms).toFixed(1)}–${Math.max(...ms).toFixed(1)} | ${(aloneMedian / m).toFixed(2)}× | ${last?.steps ?? ''} |`);
        process.stdout.write('.');
      }
    }
    process.stdout.write('\n');
    const stamp = machineStamp(browser.version());
    const report = [
      '# Runtime: one inference, owner + 3 workers, per scheme (WASM backend)',
      '',
      stampMarkdown(stamp),
      '',
      `Median over ${RUNS} seeded test images after a warm-up; ms on the owner's clock from the start of the inference to the`,
      'merged output. **All four pages share this 2-core machine** (one headless Chromium), so the workers do not add',
      'compute: these numbers show what distribution costs here (transfers, scheduling, halos), not what real phones gain.',
      'The speed-up measurement with one CPU quota per emulated phone is the benchmark report’s job.',
      '',
      '| model | scheme | devices | median ms | min–max | vs owner alone | plan |',
      '|---|---|---:|---:|---|---:|---|',
      ...rows,
      '',
    ].join('\n');
    console.log(report);
    await mkdir(path.join(root, 'bench', 'results'), { recursive: true });
    await writeFile(path.join(root, 'bench', 'results', 'runtime.md'), report);
    await writeFile(path.join(root, 'bench', 'results', 'runtime.json'), JSON.stringify({ machine: stamp, samples }, null, 1));
  } finally {
    await browser.close();
    await server.close();
  }
}

await main();
