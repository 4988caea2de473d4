/** Test images made by the page's own canvas, so no binary fixtures are needed. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, type Page } from '@playwright/test';

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

/** The model's input for a data-set image: its 28×28 grey levels scaled to 0..1 (fails on any other size). */
export function sampleValues(sample: FashionSample | undefined): number[] {
  expect(sample, 'a Fashion-MNIST sample').toBeDefined();
  const values = Array.from(Buffer.from(sample!.pixelsBase64, 'base64'), (b) => b / 255);
  expect(values, `t10k #${sample!.index}: pixels`).toHaveLength(28 * 28);
  return values;
}

/** The largest |a[i] − b[i]| of two equally long vectors (fails when their lengths differ). */
export function maxAbsDiff(a: readonly number[], b: readonly number[]): number {
  expect(a.length).toBe(b.length);
  return a.reduce((max, v, i) => Math.max(max, Math.abs(v - (b[i] as number))), 0);
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
