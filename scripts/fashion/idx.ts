/**
 * Fashion-MNIST in IDX format (gzipped), as Debian's `dataset-fashion-mnist` installs it.
 * Every header is checked (magic number, dimensions, byte count) so a truncated or swapped file
 * fails loudly instead of training on garbage.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export const DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';
const IMAGES_MAGIC = 0x00000803; // unsigned byte, 3 dimensions
const LABELS_MAGIC = 0x00000801; // unsigned byte, 1 dimension

export interface FashionSplit {
  /** n × 28 × 28 bytes, row-major, 0 = black background. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export function parseImages(bytes: Uint8Array, source: string): { images: Uint8Array; count: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 16) throw new Error(`${source}: too short for an IDX image header`);
  const magic = view.getUint32(0);
  if (magic !== IMAGES_MAGIC) throw new Error(`${source}: magic 0x${magic.toString(16)}, expected 0x803 (images)`);
  const count = view.getUint32(4);
  const rows = view.getUint32(8);
  const cols = view.getUint32(12);
  if (rows !== 28 || cols !== 28) throw new Error(`${source}: images are ${rows}×${cols}, expected 28×28`);
  if (bytes.byteLength !== 16 + count * rows * cols) {
    throw new Error(`${source}: ${bytes.byteLength} bytes, expected ${16 + count * rows * cols} for ${count} images`);
  }
  return { images: bytes.subarray(16), count };
}

export function parseLabels(bytes: Uint8Array, source: string): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 8) throw new Error(`${source}: too short for an IDX label header`);
  const magic = view.getUint32(0);
  if (magic !== LABELS_MAGIC) throw new Error(`${source}: magic 0x${magic.toString(16)}, expected 0x801 (labels)`);
  const count = view.getUint32(4);
  if (bytes.byteLength !== 8 + count) throw new Error(`${source}: ${bytes.byteLength} bytes, expected ${8 + count}`);
  const labels = bytes.subarray(8);
  const bad = labels.findIndex((l) => l > 9);
  if (bad >= 0) throw new Error(`${source}: label ${labels[bad]} at ${bad} is not a class 0–9`);
  return labels;
}

/** The data set's folder: $FASHION_MNIST_DIR or Debian's; exits with install advice when absent. */
export function datasetDir(): string {
  const dir = process.env.FASHION_MNIST_DIR ?? DEFAULT_DIR;
  const missing = ['train', 't10k'].flatMap((s) => [`${s}-images-idx3-ubyte.gz`, `${s}-labels-idx1-ubyte.gz`])
    .filter((f) => !existsSync(join(dir, f)));
  if (missing.length > 0) {
    console.error(`Fashion-MNIST not found in ${dir} (missing ${missing.join(', ')}).\n`
      + 'Install it with `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or set\n'
      + 'FASHION_MNIST_DIR to a folder holding {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz.');
    process.exit(2);
  }
  return dir;
}

export function loadSplit(dir: string, split: 'train' | 't10k'): FashionSplit {
  const read = (name: string): Uint8Array => new Uint8Array(gunzipSync(readFileSync(join(dir, name))));
  const imageFile = `${split}-images-idx3-ubyte.gz`;
  const labelFile = `${split}-labels-idx1-ubyte.gz`;
  const { images, count } = parseImages(read(imageFile), imageFile);
  const labels = parseLabels(read(labelFile), labelFile);
  if (labels.length !== count) throw new Error(`${split}: ${count} images but ${labels.length} labels`);
  return { images, labels, count };
}
