import { describe, expect, it } from 'vitest';
import { centreCrop, preprocessImage, type RgbaImage } from './preprocess.ts';

/** An image whose pixel (x, y) has the colour `paint(x, y)` (RGB, alpha 255). */
function image(width: number, height: number, paint: (x: number, y: number) => [number, number, number]): RgbaImage {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = paint(x, y);
      data.set([r, g, b, 255], (y * width + x) * 4);
    }
  }
  return { width, height, data };
}

describe('centreCrop', () => {
  it('takes the middle square of a landscape or portrait photo', () => {
    expect(centreCrop(400, 300, 1)).toEqual({ x: 50, y: 0, width: 300, height: 300 });
    expect(centreCrop(300, 400, 1)).toEqual({ x: 0, y: 50, width: 300, height: 300 });
    expect(centreCrop(5, 5, 1)).toEqual({ x: 0, y: 0, width: 5, height: 5 });
  });
});

describe('preprocessImage', () => {
  it('box-averages each output pixel over the block it covers', () => {
    // 4×4 → 2×2: each output is the mean of a 2×2 block.
    const img = image(4, 4, (x, y) => (x < 2 && y < 2 ? [255, 255, 255] : [0, 0, 0]));
    const out = preprocessImage(img, { inputShape: [2, 2, 3], background: 'any' });
    expect(Array.from(out.values)).toEqual([1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(out.shape).toEqual([2, 2, 3]);
  });

  it('gives grayscale with the luma weights', () => {
    const out = preprocessImage(image(1, 1, () => [255, 0, 0]), { inputShape: [1, 1, 1], background: 'any' });
    expect(out.values[0]).toBeCloseTo(0.299, 5);
  });

  it('crops the centre: the left and right margins of a wide photo do not count', () => {
    // 6×2, red margins of 2 columns each side, white centre 2×2 → a 1×1 white pixel.
    const img = image(6, 2, (x) => (x >= 2 && x < 4 ? [255, 255, 255] : [255, 0, 0]));
    const out = preprocessImage(img, { inputShape: [1, 1, 3], background: 'any' });
    expect(Array.from(out.values)).toEqual([1, 1, 1]);
  });

  it('turns a dark garment on a light background into a light one on black, background at 0', () => {
    // 28×28, light gray background (220) with a dark square (40) in the middle.
    const img = image(28, 28, (x, y) => (x >= 9 && x < 19 && y >= 9 && y < 19 ? [40, 40, 40] : [220, 220, 220]));
    const out = preprocessImage(img, { inputShape: [28, 28, 1], background: 'dark' });
    expect(out.inverted).toBe(true);
    expect(out.values[0]).toBe(0); // a corner: background
    expect(out.values[14 * 28 + 14]).toBe(1); // the centre: the garment, at full brightness
  });

  it('leaves a light garment on a dark background uninverted', () => {
    const img = image(28, 28, (x, y) => (x >= 9 && x < 19 && y >= 9 && y < 19 ? [200, 200, 200] : [10, 10, 10]));
    const out = preprocessImage(img, { inputShape: [28, 28, 1], background: 'dark' });
    expect(out.inverted).toBe(false);
    expect(out.values[0]).toBe(0);
    expect(out.values[14 * 28 + 14]).toBe(1);
  });

  it('keeps every value finite and in [0, 1] on a flat image', () => {
    const out = preprocessImage(image(10, 10, () => [255, 255, 255]), { inputShape: [4, 4, 1], background: 'dark' });
    for (const v of out.values) expect(v >= 0 && v <= 1).toBe(true);
  });

  it('says what is wrong with a truncated image', () => {
    expect(() => preprocessImage({ width: 4, height: 4, data: new Uint8Array(8) }, { inputShape: [2, 2, 1], background: 'any' })).toThrow(/needs 64 bytes, got 8/);
  });
});
