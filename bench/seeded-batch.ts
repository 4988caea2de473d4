/**
 * Many images in flight on the owner page (`window.modnn.classifyMany`), with the images made on
 * the page itself: the page API's `classify({ seed })` draws its test image with
 * `tf.randomUniform(shape, 0, 1, 'float32', seed)`, and `classifyMany` wants the values, so the
 * same draws (TF.js's seeded generator: seedrandom's Alea, seeded with the seed's decimal string)
 * are made here, on the page. Image `seed` of a batch is then exactly image `seed` of `classify`,
 * so its answer can be checked against the owner alone on that image. Making the values on the
 * page keeps megabytes of numbers out of the bench ↔ browser protocol.
 */
import type { BatchRequest, ClassifySummary } from '../src/ui/model-runner.ts';
import type { BatchSummary } from '../src/runtime/index.ts';

/** A batch as the benchmark asks for it: seeds instead of images. */
export type SeededBatchRequest = Omit<BatchRequest, 'images' | 'onImage' | 'signal'> & {
  seeds: number[];
  /** [H, W, C] of the model's input. */
  shape: [number, number, number];
};

export type SeededBatchImage = { ok: true; top: ClassifySummary['top']; logits: number[]; totalMs: number; devices: string[]; steps: string } | { ok: false; error: string } | null;

export interface SeededBatchResult {
  summary: BatchSummary;
  results: SeededBatchImage[];
}

/**
 * Runs in the owner page (serialised by Playwright: nothing from outside, no named inner
 * functions). Alea as in seedrandom 3 (lib/alea.js): Mash hashes ' ' three times and the seed
 * three times into the three states, each draw is `t = 2091639·s0 + c·2⁻³²`.
 */
export const classifySeededBatchOnPage = async (request: SeededBatchRequest): Promise<SeededBatchResult> => {
  const { seeds, shape, ...rest } = request;
  const length = shape[0] * shape[1] * shape[2];
  const images = seeds.map((seed) => {
    const text = String(seed);
    let n = 0xefc8249d;
    const mashed: number[] = [];
    for (const data of [' ', ' ', ' ', text, text, text]) {
      for (let i = 0; i < data.length; i++) {
        n += data.charCodeAt(i);
        let h = 0.02519603282416938 * n;
        n = h >>> 0;
        h -= n;
        h *= n;
        n = h >>> 0;
        h -= n;
        n += h * 0x100000000;
      }
      mashed.push((n >>> 0) * 2.3283064365386963e-10);
    }
    let s0 = (mashed[0] as number) - (mashed[3] as number);
    if (s0 < 0) s0 += 1;
    let s1 = (mashed[1] as number) - (mashed[4] as number);
    if (s1 < 0) s1 += 1;
    let s2 = (mashed[2] as number) - (mashed[5] as number);
    if (s2 < 0) s2 += 1;
    let c = 1;
    const values = new Float32Array(length);
    for (let i = 0; i < length; i++) {
      const t = 2091639 * s0 + c * 2.3283064365386963e-10;
      s0 = s1;
      s1 = s2;
      c = t | 0;
      s2 = t - c;
      values[i] = s2; // min 0 + range 1 × draw, stored as float32 like TF.js's buffer
    }
    return values;
  });
  type PageApi = { classifyMany(r: Omit<SeededBatchRequest, 'seeds' | 'shape'> & { images: Float32Array[] }): Promise<SeededBatchResult> };
  return (window as unknown as { modnn: PageApi }).modnn.classifyMany({ ...rest, images });
};
