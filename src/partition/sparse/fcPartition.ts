import type { CsrMatrix } from '../../model/index.ts';
import { csrNnz } from '../../model/index.ts';
import { biasedSplit } from '../biasedSplit.ts';
import type { FcScheme, FcWorkerSlice } from './fcSlice.ts';
import { fgcp } from './fgcp.ts';
import type { MsccOptions } from './mscc.ts';
import { mscc } from './mscc.ts';
import { columnCounts, slicesFromAssignment } from './workerSlices.ts';

const bytesPerFloat32 = 4;

/** A partitioned Dense layer with what it costs on the wire. */
export interface FcPartition {
  readonly scheme: FcScheme;
  /** One slice per device in plan order (a device may have an empty slice). */
  readonly workers: readonly FcWorkerSlice[];
  /** Nonzeros each device computes (its work), after FGCP's cover choices. */
  readonly loads: readonly number[];
  /**
   * Nonzeros in the output columns each device owns: the load MSCC balances within (1 + ε). FGCP
   * then moves cross entries covered by partial sums to the input's owner, so `loads` can differ.
   */
  readonly columnLoads: readonly number[];
  /** Cross nonzeros (MSCC + FGCP only; 0 for the output split, which has no input ownership). */
  readonly crossCount: number;
  /** Values FGCP added to cover cross entries (0 for the output split). */
  readonly extraValues: number;
}

/** Activation bytes on the wire for one inference, device 0 being the owner. */
export interface FcTraffic {
  /** Bytes the owner sends each device (0 for itself). */
  readonly bytesToDevice: readonly number[];
  /** Bytes each device returns. */
  readonly bytesFromDevice: readonly number[];
  /** Messages: one each way per worker with a non-empty slice. */
  readonly messages: number;
  readonly totalBytes: number;
}

/** Traffic of a set of FC worker slices (static index lists: only values travel). */
export function fcTraffic(workers: readonly FcWorkerSlice[], ownerDevice = 0): FcTraffic {
  const deviceCount = workers.reduce((max, w) => Math.max(max, w.device + 1), 0);
  const bytesToDevice = new Array<number>(deviceCount).fill(0);
  const bytesFromDevice = new Array<number>(deviceCount).fill(0);
  let messages = 0;
  for (const worker of workers) {
    if (worker.device === ownerDevice || worker.weights.rowPtr[worker.weights.rows] === 0) continue;
    bytesToDevice[worker.device] = (bytesToDevice[worker.device] as number) + worker.inputIndex.length * bytesPerFloat32;
    bytesFromDevice[worker.device] = (bytesFromDevice[worker.device] as number) + worker.outputIndex.length * bytesPerFloat32;
    messages += 2;
  }
  const totalBytes = [...bytesToDevice, ...bytesFromDevice].reduce((a, b) => a + b, 0);
  return { bytesToDevice, bytesFromDevice, messages, totalBytes };
}

/**
 * MSCC + FGCP (ALGORITHMS.md §6): capability-balanced co-clusters, then minimum vertex covers for
 * the cross entries. Each device stores only its own nonzeros. With `balanceLoads` (default true)
 * FGCP keeps every device's computed nonzeros within MSCC's (1 + ε) capacities where it can, at
 * the price of a few more values on the wire.
 */
export function partitionFcMsccFgcp(matrix: CsrMatrix, capabilities: readonly number[], options: MsccOptions & { readonly balanceLoads?: boolean } = {}): FcPartition {
  const clusters = mscc(matrix, capabilities, options);
  const result = fgcp(matrix, clusters.rowOwner, clusters.colOwner, capabilities.length, (options.balanceLoads ?? true) ? clusters.capacities : undefined);
  return {
    scheme: 'msccFgcp',
    workers: result.workers,
    loads: result.workers.map((w) => w.weights.rowPtr[w.weights.rows] as number),
    columnLoads: clusters.loads,
    crossCount: result.crossCount,
    extraValues: result.extraValues + result.balanceExtraValues,
  };
}

/**
 * The baseline: contiguous output columns per device, cut so each device's nonzeros follow its
 * capability share, and the whole input x broadcast to every device.
 */
export function partitionFcOutputSplit(matrix: CsrMatrix, capabilities: readonly number[]): FcPartition {
  const nnz = csrNnz(matrix);
  const targets = biasedSplit(nnz, capabilities);
  const colCounts = columnCounts(matrix);
  // Column c goes to the device whose cumulative target range contains the column's midpoint.
  const colOwner = new Int32Array(matrix.cols);
  let cumulative = 0;
  let device = 0;
  let deviceEnd = targets[0] as number;
  for (let c = 0; c < matrix.cols; c++) {
    const middle = cumulative + (colCounts[c] as number) / 2;
    while (device < targets.length - 1 && middle >= deviceEnd) {
      device++;
      deviceEnd += targets[device] as number;
    }
    colOwner[c] = device;
    cumulative += colCounts[c] as number;
  }
  const deviceOfNonzero = Int32Array.from(matrix.colIdx.subarray(0, nnz), (c) => colOwner[c] as number);
  const workers = slicesFromAssignment(matrix, deviceOfNonzero, capabilities.length, true);
  const loads = workers.map((w) => w.weights.rowPtr[w.weights.rows] as number);
  return { scheme: 'outputSplit', workers, loads, columnLoads: loads, crossCount: 0, extraValues: 0 };
}
