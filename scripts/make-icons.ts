/**
 * Renders the web app manifest's PNG icons from public/favicon.svg with the tests' Chromium
 * (e2e/browser.ts): public/icons/icon-192.png, icon-512.png (the icon as drawn, transparent
 * corners) and maskable-512.png (full-bleed background, the drawing shrunk into the safe zone, the
 * circle of 40% radius that every launcher mask keeps). Run by hand after changing the SVG:
 *
 *   npx tsx scripts/make-icons.ts
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from '@playwright/test';
import { launchOptions } from '../e2e/browser.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'public', 'favicon.svg');
const outDir = path.join(root, 'public', 'icons');

/** The favicon's background colour: the maskable icon's bleed. */
const BLEED = '#12324a';
/**
 * The drawing's farthest point is 29.1 of its 64 units from the centre (the corner nodes), 45% of
 * its width; at 80% it reaches 36% of the icon's width, inside the 40% safe circle.
 */
const MASKABLE_SCALE = 0.8;

interface Icon {
  file: string;
  size: number;
  maskable: boolean;
}

const ICONS: Icon[] = [
  { file: 'icon-192.png', size: 192, maskable: false },
  { file: 'icon-512.png', size: 512, maskable: false },
  { file: 'maskable-512.png', size: 512, maskable: true },
];

function pageFor(svg: string, icon: Icon): string {
  const src = `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
  const inner = icon.maskable ? Math.round(icon.size * MASKABLE_SCALE) : icon.size;
  const background = icon.maskable ? BLEED : 'transparent';
  return `<!doctype html><html><body style="margin:0;background:transparent">
<div id="icon" style="width:${icon.size}px;height:${icon.size}px;display:grid;place-items:center;background:${background}">
<img src="${src}" width="${inner}" height="${inner}" alt="">
</div></body></html>`;
}

async function main(): Promise<void> {
  const svg = await readFile(source, 'utf8');
  await mkdir(outDir, { recursive: true });
  const browser = await chromium.launch(launchOptions);
  try {
    const page = await browser.newPage({ deviceScaleFactor: 1, viewport: { width: 600, height: 600 } });
    for (const icon of ICONS) {
      await page.setContent(pageFor(svg, icon));
      await page.locator('#icon img').evaluate((img: HTMLImageElement) => img.decode());
      const png = await page.locator('#icon').screenshot({ omitBackground: true });
      const out = path.join(outDir, icon.file);
      await writeFile(out, png);
      console.log(`${path.relative(root, out)}: ${icon.size}×${icon.size}, ${png.byteLength} bytes`);
    }
  } finally {
    await browser.close();
  }
}

await main();
