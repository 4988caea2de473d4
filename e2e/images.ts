/** Test images made by the page's own canvas, so no binary fixtures are needed. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';

export interface FashionSample {
  index: number;
  label: number;
  name: string;
  pixelsBase64: string;
}

const fixturePath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'model', 'testdata', 'fashion-mnist-samples.json');

/** Held-out Fashion-MNIST test images with their true labels (see the file's selection rule). */
export async function fashionSamples(): Promise<FashionSample[]> {
  return (JSON.parse(await readFile(fixturePath, 'utf8')) as { samples: FashionSample[] }).samples;
}

/** A "photo" of a data-set image: 10× larger, dark garment on a light background, as a PNG. */
export async function photoOf(page: Page, sample: FashionSample): Promise<Buffer> {
  const base64 = await page.evaluate(async (pixelsBase64) => {
    const pixels = Uint8Array.from(atob(pixelsBase64), (c) => c.charCodeAt(0));
    const canvas = new OffscreenCanvas(280, 280);
    const g = canvas.getContext('2d') as OffscreenCanvasRenderingContext2D;
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const v = 255 - (pixels[y * 28 + x] as number);
        g.fillStyle = `rgb(${v},${v},${v})`;
        g.fillRect(x * 10, y * 10, 10, 10);
      }
    }
    const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
    return btoa(String.fromCharCode(...bytes));
  }, sample.pixelsBase64);
  return Buffer.from(base64, 'base64');
}
