import type { CsrMatrix } from '../../model/index.ts';

/**
 * What one device computes of a Dense layer y = x · W (W is n_in × n_out). All index lists are
 * static (ALGORITHMS.md §6): they ship once with the weights; per inference only values travel,
 * one message each way.
 */
export interface FcWorkerSlice {
  /** Index into the plan's device list. */
  readonly device: number;
  /** Global input indices whose values the device receives, ascending. */
  readonly inputIndex: Int32Array;
  /** Global output indices it returns (partial) sums for, ascending. */
  readonly outputIndex: Int32Array;
  /** Its weights: |inputIndex| × |outputIndex|, local indices. */
  readonly weights: CsrMatrix;
}

/** Partitioning schemes for a Dense layer. */
export type FcScheme = 'outputSplit' | 'msccFgcp';
