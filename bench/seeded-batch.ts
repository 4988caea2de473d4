/**
 * Many images in flight on the owner page (`window.modnn.classifyMany`), the images drawn on the
 * page from seeds exactly as `classify({ seed })` draws its test image, so image `seed` of a batch
 * can be checked against the owner alone on that image, and megabytes of numbers stay out of the
 * bench ↔ browser protocol.
 */
import type { BatchRequest, BatchValuesOutcome } from '../src/ui/model-runner.ts';
import type { BatchSummary } from '../src/runtime/index.ts';

/** A batch as the benchmark asks for it: seeds instead of images. */
export type SeededBatchRequest = Omit<BatchRequest, 'images' | 'onImage' | 'signal'> & { seeds: number[] };

export type SeededBatchImage = BatchValuesOutcome;

export interface SeededBatchResult {
  summary: BatchSummary;
  results: SeededBatchImage[];
}

/** Runs in the owner page (serialised by Playwright). */
export const classifySeededBatchOnPage = (request: SeededBatchRequest): Promise<SeededBatchResult> =>
  (window as unknown as { modnn: { classifyMany(r: SeededBatchRequest): Promise<SeededBatchResult> } }).modnn.classifyMany(request);
