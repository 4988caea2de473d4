/**
 * A photo → what a model takes: centre crop to the model's aspect, box-filter resize (a phone
 * photo is shrunk 100×; bilinear sampling would alias), grayscale or RGB in [0, 1], and, for a
 * model trained on light objects on black (Fashion-MNIST), a light background turned dark and
 * pushed to zero the way the data set has it. Pure: works on RGBA bytes, runs anywhere.
 */

export interface RgbaImage {
  width: number;
  height: number;
  /** width × height × 4 bytes, row-major (ImageData's layout). */
  data: ArrayLike<number>;
}

export interface PreprocessOptions {
  /** The model's input [height, width, channels]; channels 1 (grayscale) or 3 (RGB). */
  inputShape: readonly [number, number, number];
  /**
   * 'dark': the model was trained on objects on a black background, so a light background is
   * inverted and the background level is moved to 0. 'any': pixels as they are.
   */
  background: 'dark' | 'any';
}

export interface Preprocessed {
  /** [height, width, channels] values in [0, 1]. */
  values: Float32Array;
  shape: [number, number, number];
  /** Whether the image was inverted (its background was light). */
  inverted: boolean;
}

const LUMA = [0.299, 0.587, 0.114] as const;

export function preprocessImage(image: RgbaImage, options: PreprocessOptions): Preprocessed {
  const [outH, outW, channels] = options.inputShape;
  if (channels !== 1 && channels !== 3) throw new Error(`preprocessImage: ${channels} channels; only 1 (grayscale) or 3 (RGB) are supported`);
  if (!(image.width > 0 && image.height > 0) || image.data.length < image.width * image.height * 4) {
    throw new Error(`preprocessImage: a ${image.width}×${image.height} image needs ${image.width * image.height * 4} bytes, got ${image.data.length}`);
  }
  const crop = centreCrop(image.width, image.height, outW / outH);
  const values = new Float32Array(outH * outW * channels);
  const scaleX = crop.width / outW;
  const scaleY = crop.height / outH;
  for (let oy = 0; oy < outH; oy++) {
    // The source rows/cols this output pixel covers (at least one of each).
    const y0 = crop.y + Math.floor(oy * scaleY);
    const y1 = Math.max(y0 + 1, crop.y + Math.floor((oy + 1) * scaleY));
    for (let ox = 0; ox < outW; ox++) {
      const x0 = crop.x + Math.floor(ox * scaleX);
      const x1 = Math.max(x0 + 1, crop.x + Math.floor((ox + 1) * scaleX));
      let r = 0;
      let g = 0;
      let b = 0;
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const i = (y * image.width + x) * 4;
          r += image.data[i] as number;
          g += image.data[i + 1] as number;
          b += image.data[i + 2] as number;
        }
      }
      const n = (y1 - y0) * (x1 - x0) * 255;
      const out = (oy * outW + ox) * channels;
      if (channels === 1) values[out] = (LUMA[0] * r + LUMA[1] * g + LUMA[2] * b) / n;
      else {
        values[out] = r / n;
        values[out + 1] = g / n;
        values[out + 2] = b / n;
      }
    }
  }
  let inverted = false;
  if (options.background === 'dark') inverted = toDarkBackground(values, outH, outW, channels);
  return { values, shape: [outH, outW, channels], inverted };
}

/** The largest centred window of the given aspect (width / height). */
export function centreCrop(width: number, height: number, aspect: number): { x: number; y: number; width: number; height: number } {
  let w = width;
  let h = Math.round(width / aspect);
  if (h > height) {
    h = height;
    w = Math.min(width, Math.round(height * aspect));
  }
  return { x: Math.floor((width - w) / 2), y: Math.floor((height - h) / 2), width: Math.max(1, w), height: Math.max(1, h) };
}

/**
 * The border (outermost ring) tells the background: a light one is inverted; then the
 * background level goes to 0 and the brightest value to 1, as in the data set, where garments
 * sit on exact black. Returns whether it inverted.
 */
function toDarkBackground(values: Float32Array, height: number, width: number, channels: number): boolean {
  const border: number[] = [];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (y !== 0 && y !== height - 1 && x !== 0 && x !== width - 1) continue;
      for (let c = 0; c < channels; c++) border.push(values[(y * width + x) * channels + c] as number);
    }
  }
  border.sort((a, b) => a - b);
  const level = border[Math.floor(border.length / 2)] ?? 0;
  const invert = level > 0.5;
  const background = invert ? 1 - level : level;
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    const v = invert ? 1 - (values[i] as number) : (values[i] as number);
    values[i] = v;
    if (v > max) max = v;
  }
  const range = max - background;
  // A flat image (no object) is left as is rather than blown up into noise.
  if (range < 0.05) return invert;
  for (let i = 0; i < values.length; i++) values[i] = Math.min(1, Math.max(0, ((values[i] as number) - background) / range));
  return invert;
}
