/**
 * Test fixtures for the app's unit tests: held-out t10k images with their true labels. The rule
 * is fixed before looking at the model: the first test image of each class, in file order; where
 * the final model gets that image wrong, the next image of the same class, and the skipped
 * indices are written down. The file says which ones were skipped, so the choice is auditable.
 */
import { writeFileSync } from 'node:fs';
import type { FashionSplit } from './idx.ts';
import { CLASS_NAMES } from './save.ts';

export interface FixtureFile {
  description: string;
  rule: string;
  source: string;
  samples: { index: number; label: number; name: string; pixelsBase64: string }[];
  skipped: { index: number; label: number; predicted: number }[];
}

export function chooseFixtures(test: FashionSplit, predictions: Uint8Array): FixtureFile {
  const samples: FixtureFile['samples'] = [];
  const skipped: FixtureFile['skipped'] = [];
  for (let label = 0; label < 10; label++) {
    for (let index = 0; index < test.count; index++) {
      if (test.labels[index] !== label) continue;
      const predicted = predictions[index] as number;
      if (predicted !== label) {
        skipped.push({ index, label, predicted });
        continue;
      }
      const pixels = test.images.subarray(index * 784, (index + 1) * 784);
      samples.push({ index, label, name: CLASS_NAMES[label] ?? '', pixelsBase64: Buffer.from(pixels).toString('base64') });
      break;
    }
  }
  return {
    description: 'Held-out Fashion-MNIST test images (t10k, never used in training) for the clothing model tests. '
      + 'pixelsBase64: the 784 uint8 pixels, row-major 28×28, 0 = black background; divide by 255 for the model input.',
    rule: 'For each class 0–9: the first t10k image of that class in file order that the shipped (pruned, fine-tuned) '
      + 'model classifies correctly; images of that class before it which the model gets wrong are listed in "skipped".',
    source: 't10k-images-idx3-ubyte.gz / t10k-labels-idx1-ubyte.gz (Debian dataset-fashion-mnist)',
    samples,
    skipped,
  };
}

export function writeFixtures(path: string, fixtures: FixtureFile): void {
  writeFileSync(path, `${JSON.stringify(fixtures, null, 2)}\n`);
}
